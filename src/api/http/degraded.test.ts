import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openHttpApp, TEST_NODE, type TestHttpApp } from '../../../test/helpers/http-app.js';
import type { StoreHealth } from '../../store/index.js';

/**
 * Answers never pass off a stale view as current: while the store refuses writes they say so
 * in Consul's leader headers, and a status decided but not written shows in every answer.
 * Over a real socket, so answers served before routing are covered too.
 */
let h: TestHttpApp;
let base: string;
let health: StoreHealth | undefined;

beforeAll(async () => {
  h = await openHttpApp();
  const real = (h.store as unknown as { health: () => StoreHealth }).health.bind(h.store);
  (h.store as unknown as { health: () => StoreHealth }).health = () => health ?? real();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
afterAll(() => h.close());
beforeEach(async () => {
  health = undefined;
  await h.reset();
  await h.catalog.commands.registerService(
    TEST_NODE,
    {
      ID: 'web-1',
      Service: 'web',
      Tags: [],
      Address: '',
      TaggedAddresses: {},
      Meta: {},
      Port: 80,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Kind: '',
    },
    [
      {
        Node: TEST_NODE,
        CheckID: 'service:web-1',
        Name: 'ttl',
        Status: 'passing',
        Notes: '',
        Output: '',
        ServiceID: 'web-1',
        ServiceName: 'web',
        ServiceTags: [],
        Type: 'ttl',
        Definition: { TTLMs: 10_000 },
      },
    ],
  );
});

async function get(path: string) {
  const res = await request(`${base}${path}`);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('a store that refuses writes', () => {
  it('is said in every answer, cached reads included; the leader is "" and agent/self tells why', async () => {
    // Asked twice while healthy: the second answer comes from the response cache.
    for (let i = 0; i < 2; i++) expect((await get('/v1/health/service/web')).headers['x-consul-knownleader']).toBe('true');
    health = { writable: false, since: Date.now() - 5000, lastError: 'SQLITE_FULL: database or disk is full' };
    for (const path of ['/v1/health/service/web', '/v1/health/service/web', '/v1/catalog/services', '/v1/agent/checks', '/nope']) {
      const r = await get(path);
      expect(r.headers['x-consul-knownleader'], path).toBe('false');
      expect(Number(r.headers['x-consul-lastcontact']), path).toBeGreaterThanOrEqual(5000);
      expect(r.headers['x-beacon-store'], path).toBe('not-writable');
    }
    expect(JSON.parse((await get('/v1/status/leader')).text)).toBe('');
    const self = JSON.parse((await get('/v1/agent/self')).text) as { Stats: { beacon: Record<string, string> } };
    expect(self.Stats.beacon).toMatchObject({ store_writable: 'false', store_last_error: 'SQLITE_FULL: database or disk is full' });
    health = undefined;
    const back = await get('/v1/health/service/web');
    expect(back.headers['x-consul-knownleader']).toBe('true');
    expect(back.headers['x-beacon-store']).toBeUndefined();
    expect(JSON.parse((await get('/v1/status/leader')).text)).not.toBe('');
  });
});

describe('a status decided but not yet written', () => {
  it('shows in answers at once, wakes blocking queries without an index change, and leaves ?passing', async () => {
    const first = await get('/v1/health/service/web?passing');
    expect(JSON.parse(first.text)).toHaveLength(1);
    const index = first.headers['x-consul-index'] as string;
    const blocked = get(`/v1/health/service/web?index=${index}&wait=60s`);
    // The query is parked (its answer would otherwise be the same entry).
    await expect.poll(() => h.catalog.blockingQueriesWaiting, { timeout: 10_000 }).toBe(1);
    h.catalog.setPending(TEST_NODE, 'service:web-1', { status: 'critical', output: 'TTL expired' });
    const woke = await blocked;
    expect(woke.headers['x-consul-index']).toBe(index);
    const entry = (JSON.parse(woke.text) as { Checks: { CheckID: string; Status: string; Output: string }[] }[])[0];
    expect(entry.Checks.find((c) => c.CheckID === 'service:web-1')).toMatchObject({ Status: 'critical', Output: 'TTL expired' });
    expect(JSON.parse((await get('/v1/health/service/web?passing')).text)).toEqual([]);
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/^beacon_catalog_pending_statuses 1$/m);
    h.catalog.setPending(TEST_NODE, 'service:web-1', undefined);
    expect(JSON.parse((await get('/v1/health/service/web?passing')).text)).toHaveLength(1);
  });
});
