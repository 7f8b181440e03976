import { afterEach, describe, expect, it } from 'vitest';
import { BeaconClient } from '../client.js';
import { FakeConsul, until } from '../transport/fake-consul.test-suite.js';
import { buildServiceDefinition } from './service-definition.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(extra: ConstructorParameters<typeof BeaconClient>[0] = {}) {
  const f = await FakeConsul.start();
  cleanup.push(() => f.close());
  const c = new BeaconClient({ servers: [f.url], deregisterOnSignals: false, requestTimeoutMs: 1_000, ...extra });
  cleanup.push(() => c.close());
  return { f, c };
}

describe('service definition', () => {
  it('builds the Consul registration body', () => {
    const def = buildServiceDefinition({ name: 'web', id: 'web-1', address: '10.0.0.1', port: 8080, tags: ['v2'], meta: { a: 'b' }, weights: { passing: 10 }, check: { ttl: '15s', deregisterCriticalAfter: '1m' } });
    expect(def.body).toEqual({
      ID: 'web-1', Name: 'web', Tags: ['v2'], Address: '10.0.0.1', Port: 8080, Meta: { a: 'b' }, Weights: { Passing: 10, Warning: 1 },
      Check: { CheckID: 'service:web-1', Name: "Service 'web' check", TTL: '15000ms', Status: 'passing', DeregisterCriticalServiceAfter: '60000ms' },
    });
    expect(def.ttlMs).toBe(15_000);
    const http = buildServiceDefinition({ name: 'web', port: 1, check: { http: 'http://x/health', interval: '10s', timeout: 2_000 } });
    expect(http.body.Check).toMatchObject({ HTTP: 'http://x/health', Interval: '10000ms', Timeout: '2000ms' });
    expect(http.ttlMs).toBeUndefined();
    const https = buildServiceDefinition({ name: 'web', port: 1, check: { http: 'https://10.0.0.1/health', interval: '10s', tlsServerName: 'web.internal', tlsSkipVerify: false } });
    expect(https.body.Check).toMatchObject({ HTTP: 'https://10.0.0.1/health', TLSServerName: 'web.internal', TLSSkipVerify: false });
    expect(buildServiceDefinition({ name: 'db', port: 5432, check: { tcp: '10.0.0.1:5432', interval: '5s' } }).body.Check).toMatchObject({ TCP: '10.0.0.1:5432' });
    expect(buildServiceDefinition({ name: 'db', port: 5432 }).id).toMatch(/^db-.+-5432$/);
  });

  it('rejects bad input with a validation error naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ name: '', port: 1 }, /name/],
      [{ name: 'x', port: 70_000 }, /port/],
      [{ name: 'x', port: 1, address: '0.0.0.0' }, /address/],
      [{ name: 'x', port: 1, tags: 'a' }, /tags/],
      [{ name: 'x', port: 1, meta: { a: 1 } }, /meta/],
      [{ name: 'x', port: 1, weights: { passing: -1 } }, /weights\.passing/],
      [{ name: 'x', port: 1, check: { ttl: 'soon' } }, /check\.ttl/],
      [{ name: 'x', port: 1, check: { http: 'http://x', interval: 0 } }, /interval/],
      [{ name: 'x', port: 1, check: { http: 'https://x', interval: '10s', tlsServerName: '' } }, /check\.tlsServerName must be a non-empty string/],
      [{ name: 'x', port: 1, check: {} }, /ttl, http or tcp/],
    ];
    for (const [opts, re] of bad) expect(() => buildServiceDefinition(opts as never)).toThrow(re);
  });
});

describe('registration keep-alive', () => {
  it('registers, heartbeats at about a third of the TTL, and deregisters', async () => {
    const { f, c } = await setup();
    const reg = await c.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8080, check: { ttl: 300 } });
    expect(f.registered.get('web-1')).toMatchObject({ Name: 'web', Port: 8080 });
    await until(() => f.count('/v1/agent/check/pass/', 'PUT') >= 3, 2_000, 'three heartbeats');
    const beats = f.requests.filter((r) => r.path === '/v1/agent/check/pass/service%3Aweb-1' || r.path === '/v1/agent/check/pass/service:web-1');
    expect(beats.length).toBeGreaterThanOrEqual(3);
    const gaps = beats.slice(1).map((b, i) => b.at - beats[i]!.at);
    for (const g of gaps) {
      expect(g).toBeGreaterThan(80);
      expect(g).toBeLessThan(150);
    }
    await reg.deregister();
    expect(f.registered.has('web-1')).toBe(false);
    expect(c.registrations).toHaveLength(0);
    const n = f.count('/v1/agent/check/pass/', 'PUT');
    await new Promise((r) => setTimeout(r, 250));
    expect(f.count('/v1/agent/check/pass/', 'PUT')).toBe(n);
  });

  it('registers again when the server forgets the instance (TTL check: 500 "does not have associated TTL")', async () => {
    const { f, c } = await setup();
    const reg = await c.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8080, check: { ttl: 150 } });
    f.registered.clear();
    await until(() => reg.reregistrations >= 1, 2_000, 're-registration');
    expect(f.registered.has('web-1')).toBe(true);
    expect(f.count('/v1/agent/service/register', 'PUT')).toBeGreaterThanOrEqual(2);
  });

  it('registers again an instance with an HTTP check once the catalog no longer lists it', async () => {
    const { f, c } = await setup({ verifyRegistrationMs: 1_000 });
    await c.register({ name: 'web', id: 'web-2', address: '127.0.0.1', port: 8081, check: { http: 'http://127.0.0.1:8081/health', interval: '10s' } });
    f.registered.clear();
    await until(() => f.registered.has('web-2'), 3_000, 're-registration');
  });

  it('keeps heartbeating through an outage and a failover', async () => {
    const a = await FakeConsul.start();
    const b = await FakeConsul.start();
    cleanup.push(() => a.close(), () => b.close());
    const c = new BeaconClient({ servers: [a.url, b.url], deregisterOnSignals: false, requestTimeoutMs: 500 });
    cleanup.push(() => c.close());
    await c.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8080, check: { ttl: 150 } });
    await a.close();
    // b has never heard of the instance: the heartbeat there says unknown, so it registers on b.
    await until(() => b.registered.has('web-1'), 2_000, 'registration on b');
    await until(() => b.count('/v1/agent/check/pass/', 'PUT') >= 2, 2_000, 'heartbeats on b');
  });

  it('deregisters everything on close', async () => {
    const { f, c } = await setup();
    await c.register({ name: 'web', id: 'w1', port: 1 });
    await c.register({ name: 'web', id: 'w2', port: 2 });
    expect(f.registered.size).toBe(2);
    await c.close();
    expect(f.registered.size).toBe(0);
    await expect(c.register({ name: 'web', port: 3 })).rejects.toMatchObject({ code: 'BEACON_ERR_CLIENT_CLOSED' });
  });

  it('reports a refused registration as an error', async () => {
    const { f, c } = await setup();
    f.failWith = { status: 400, body: 'Invalid service address' };
    await expect(c.register({ name: 'web', port: 1 })).rejects.toMatchObject({ code: 'BEACON_ERR_REGISTRY_RESPONSE', status: 400 });
    expect(c.registrations).toHaveLength(0);
  });
});
