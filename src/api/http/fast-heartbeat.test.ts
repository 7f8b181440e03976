import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openHttpApp, TEST_NODE, type TestHttpApp } from '../../../test/helpers/http-app.js';

/**
 * Heartbeats answered before routing must be indistinguishable from routed ones: the same
 * status, body, headers and metrics, over a real socket (inject skips the server's front door).
 */
let h: TestHttpApp;
let base: string;

beforeAll(async () => {
  h = await openHttpApp();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.reset();
  h.ttl.notTtl = false;
});

async function put(path: string, body?: string) {
  const res = await request(`${base}${path}`, { method: 'PUT', ...(body !== undefined ? { body } : {}) });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const requestsFor = async (route: string, code: string): Promise<number> => {
  const m = await h.app.inject({ method: 'GET', url: '/metrics' });
  const line = m.body.split('\n').find((l) => l.startsWith('beacon_http_requests_total{') && l.includes(`route="${route}"`) && l.includes(`code="${code}"`));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('TTL heartbeats before routing', () => {
  it('pass, warn and fail reach this node with the decoded ID and the note', async () => {
    for (const [verb, status] of [
      ['pass', 'passing'],
      ['warn', 'warning'],
      ['fail', 'critical'],
    ] as const) {
      const r = await put(`/v1/agent/check/${verb}/service%3Aweb%2F1?note=all+is%20well&dc=dc1`);
      expect(r.status, r.text).toBe(200);
      expect(r.text).toBe('');
      expect(r.headers['x-consul-index']).toMatch(/^[1-9]\d*$/);
      expect(r.headers['x-consul-knownleader']).toBe('true');
      expect(h.ttlCalls.at(-1)).toEqual({ node: TEST_NODE, checkId: 'service:web/1', status, output: 'all is well' });
    }
  });

  it('counts each answer under the route pattern, as the router does', async () => {
    const before = await requestsFor('/v1/agent/check/pass/*', '200');
    await put('/v1/agent/check/pass/a');
    await put('/v1/agent/check/pass/b');
    expect(await requestsFor('/v1/agent/check/pass/*', '200')).toBe(before + 2);
  });

  it('an unknown or non-TTL check answers the routed text and code', async () => {
    h.ttl.notTtl = true;
    const fast = await put('/v1/agent/check/pass/nope');
    // The same request with a body goes through the router: both answers must match.
    const routed = await put('/v1/agent/check/pass/nope', '');
    const viaRouter = await h.app.inject({ method: 'PUT', url: '/v1/agent/check/pass/nope' });
    for (const r of [fast, routed]) {
      expect(r.status).toBe(500);
      expect(r.headers['x-beacon-error']).toBe('BEACON_ERR_CHECK_NOT_TTL');
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.text).toBe(viaRouter.body);
    }
    expect(fast.text).toBe('CheckID "nope" does not have associated TTL');
    expect(await requestsFor('/v1/agent/check/pass/*', '500')).toBeGreaterThan(0);
  });

  it('leaves the unusual forms to the router: another datacenter, unknown parameters, an empty ID, a body', async () => {
    const other = await put('/v1/agent/check/pass/a?dc=dc9');
    expect(other.status).toBe(500);
    expect(other.text).toMatch(/^No path to datacenter/);
    const empty = await put('/v1/agent/check/pass/');
    expect(empty.status).toBe(400);
    expect(empty.text).toMatch(/Missing check ID/);
    const badEscape = await put('/v1/agent/check/pass/%E0%A4%A');
    expect(badEscape.status).toBeGreaterThanOrEqual(400);
    expect(badEscape.status).toBeLessThan(500);
    const calls = h.ttlCalls.length;
    // A pretty-printing flag or a repeated note still reaches the node, through the router.
    expect((await put('/v1/agent/check/warn/a?pretty')).status).toBe(200);
    expect((await put('/v1/agent/check/warn/a?note=1&note=2')).status).toBe(200);
    expect(h.ttlCalls.slice(calls).map((c) => c.output)).toEqual(['', '2']);
  });
});
