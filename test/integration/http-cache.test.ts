/** The response cache never serves an answer older than the data it came from. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
const register = (body: object) => fetch(`${server.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body) });
const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${server.httpUrl}/metrics`)).text())?.[1] ?? NaN);

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
});
afterAll(async () => {
  await server?.stop();
});

describe('response cache', () => {
  it('serves repeated reads from the cache and rebuilds as soon as the data changes', async () => {
    expect((await register({ Name: 'cached', ID: 'c1', Port: 1 })).status).toBe(200);
    const url = `${server.httpUrl}/v1/health/service/cached`;
    const first = await fetch(url);
    const firstBody = (await first.json()) as Array<{ Service: { ID: string } }>;
    // A URL is kept once it has been asked for twice: the second answer is built and kept.
    expect(await (await fetch(url)).json()).toEqual(firstBody);
    const hitsBefore = await metric('beacon_http_response_cache_hits_total');
    for (let i = 0; i < 20; i++) {
      const r = await fetch(url);
      expect(r.headers.get('x-consul-index')).toBe(first.headers.get('x-consul-index'));
      expect(await r.json()).toEqual(firstBody);
    }
    expect(await metric('beacon_http_response_cache_hits_total')).toBeGreaterThanOrEqual(hitsBefore + 20);

    expect((await register({ Name: 'cached', ID: 'c2', Port: 2 })).status).toBe(200);
    const after = await fetch(url);
    expect(Number(after.headers.get('x-consul-index'))).toBeGreaterThan(Number(first.headers.get('x-consul-index')));
    expect(((await after.json()) as Array<{ Service: { ID: string } }>).map((e) => e.Service.ID).sort()).toEqual(['c1', 'c2']);

    // A change to the check status (not the service) also moves the answer.
    expect((await register({ Name: 'cached', ID: 'c3', Port: 3, Check: { TTL: '60s', Status: 'passing' } })).status).toBe(200);
    const passing1 = (await (await fetch(`${url}?passing`)).json()) as unknown[];
    expect(passing1).toHaveLength(3);
    const r = await fetch(`${server.httpUrl}/v1/agent/check/fail/service:c3`, { method: 'PUT' });
    expect(r.status).toBe(200);
    const passing2 = (await (await fetch(`${url}?passing`)).json()) as unknown[];
    expect(passing2).toHaveLength(2);
  });

  it('answers from the cache carry the same headers as routed ones', async () => {
    const url = `${server.httpUrl}/v1/catalog/services`;
    const a = await fetch(url);
    const b = await fetch(url);
    for (const h of ['content-type', 'x-consul-index', 'x-consul-knownleader', 'x-consul-lastcontact']) expect(b.headers.get(h)).toBe(a.headers.get(h));
    expect(await b.text()).toBe(await a.text());
  });
});
