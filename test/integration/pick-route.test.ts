/** GET /v1/beacon/pick/:service — server-side discovery with the SDK's strategies. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STRATEGY, STRATEGIES } from '../../src/client/index.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
const pick = async (q: string) => {
  const r = await fetch(`${server.httpUrl}/v1/beacon/pick/${q}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  for (let i = 1; i <= 4; i++) {
    const r = await fetch(`${server.httpUrl}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({
        Name: 'api',
        ID: `api-${i}`,
        Address: `127.0.0.${i}`,
        Port: 8000 + i,
        Tags: i % 2 ? ['odd'] : ['even'],
        Weights: { Passing: i === 4 ? 10 : 1, Warning: 1 },
      }),
    });
    expect(r.status).toBe(200);
  }
  await fetch(`${server.httpUrl}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ Name: 'down', ID: 'down-1', Port: 1, Check: { TTL: '60s' } }),
  });
  // 'mixed': one passing instance, one in warning (TTL check set to warn).
  for (const id of ['mixed-ok', 'mixed-warn']) {
    const r = await fetch(`${server.httpUrl}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({ Name: 'mixed', ID: id, Port: 9000, Check: { TTL: '60s', CheckID: `${id}-ttl` } }),
    });
    expect(r.status).toBe(200);
  }
  expect((await fetch(`${server.httpUrl}/v1/agent/check/pass/mixed-ok-ttl`, { method: 'PUT' })).status).toBe(200);
  expect((await fetch(`${server.httpUrl}/v1/agent/check/warn/mixed-warn-ttl`, { method: 'PUT' })).status).toBe(200);
});
afterAll(async () => {
  await server?.stop();
});

describe('pick route', () => {
  it('round robin visits every instance in turn', async () => {
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push((await pick('api?strategy=round-robin')).body.ID);
    expect(new Set(ids.slice(0, 4)).size).toBe(4);
    expect(ids.slice(4)).toEqual(ids.slice(0, 4));
  });

  it('consistent hash sends a key to the same instance every time', async () => {
    const first = (await pick('api?strategy=consistent-hash&key=user-42')).body.ID;
    for (let i = 0; i < 5; i++) expect((await pick('api?strategy=consistent-hash&key=user-42')).body.ID).toBe(first);
  });

  it('weighted favours the heavy instance', async () => {
    const counts = new Map<unknown, number>();
    for (let i = 0; i < 260; i++) {
      const id = (await pick('api?strategy=weighted')).body.ID;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // api-4 has weight 10 of 13: expect ~200 of 260.
    expect(counts.get('api-4')!).toBeGreaterThan(150);
  });

  it('filters by tag and answers the instance with its address and port', async () => {
    const { status, body } = await pick('api?tag=even&strategy=random');
    expect(status).toBe(200);
    expect(['api-2', 'api-4']).toContain(body.ID);
    expect(body.Address).toMatch(/^127\.0\.0\.[24]$/);
    expect(body.Port).toBe(8000 + Number(String(body.ID).slice(4)));
  });

  it('no healthy instance -> 404 JSON with a code; bad strategy or missing key -> 400', async () => {
    const none = await pick('down');
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({ code: 'BEACON_ERR_NOT_FOUND', field: 'service' });
    const bad = await pick('api?strategy=fastest');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'BEACON_ERR_VALIDATION', field: 'strategy' });
    const nokey = await pick('api?strategy=consistent-hash');
    expect(nokey.status).toBe(400);
    expect(nokey.body.field).toBe('key');
  });

  it('accepts every SDK strategy by name (the default too) and answers a member of the healthy set', async () => {
    for (const strategy of STRATEGIES) {
      const ids = new Set<unknown>();
      for (let i = 0; i < 24; i++) {
        const r = await pick(`api?strategy=${strategy}&key=k${i}`);
        expect(r.status, strategy).toBe(200);
        expect(r.body.Strategy).toBe(strategy);
        ids.add(r.body.ID);
      }
      for (const id of ids) expect(['api-1', 'api-2', 'api-3', 'api-4']).toContain(id);
      // Without call feedback on the server, none of them sticks to one instance (keys vary).
      expect(ids.size, strategy).toBeGreaterThan(1);
    }
    expect((await pick('api')).body.Strategy).toBe(DEFAULT_STRATEGY);
  });

  it('includes warning instances unless ?passing, and validates passing, dc and key', async () => {
    const seen = new Set<unknown>();
    for (let i = 0; i < 8; i++) seen.add((await pick('mixed?strategy=round-robin')).body.ID);
    expect([...seen].sort()).toEqual(['mixed-ok', 'mixed-warn']);
    for (let i = 0; i < 6; i++) expect((await pick('mixed?strategy=round-robin&passing')).body).toMatchObject({ ID: 'mixed-ok', Status: 'passing' });
    const badBool = await pick('mixed?passing=maybe');
    expect(badBool.status).toBe(400);
    expect(badBool.body).toMatchObject({ code: 'BEACON_ERR_VALIDATION', field: 'passing' });
    const otherDc = await pick('mixed?dc=elsewhere');
    expect(otherDc.body.field).toBe('dc');
    expect(otherDc.status).toBeGreaterThanOrEqual(400);
    const longKey = await pick(`api?strategy=consistent-hash&key=${'k'.repeat(1025)}`);
    expect(longKey.status).toBe(400);
    expect(longKey.body).toMatchObject({ code: 'BEACON_ERR_VALIDATION', field: 'key' });
    const emptyKey = await pick('api?strategy=consistent-hash&key=');
    expect(emptyKey.status).toBe(400);
    expect(emptyKey.body.field).toBe('key');
    const bad = await pick('api?strategy=fastest');
    expect(String(bad.body.message)).toMatch(/strategy.*fastest.*round-robin/);
  });
});
