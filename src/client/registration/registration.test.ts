import { afterEach, describe, expect, it, vi } from 'vitest';
import { BeaconClient } from '../client.js';
import { BeaconClientError } from '../client-error.js';
import { FakeConsul, until } from '../transport/fake-consul.test-suite.js';
import type { RegistryRequest, RegistryResponse, RegistryTransport } from '../transport/index.js';
import { Registration } from './registration.js';
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
    const def = buildServiceDefinition({
      name: 'web',
      id: 'web-1',
      address: '10.0.0.1',
      port: 8080,
      tags: ['v2'],
      meta: { a: 'b' },
      weights: { passing: 10 },
      check: { ttl: '15s', deregisterCriticalAfter: '1m' },
    });
    expect(def.body).toEqual({
      ID: 'web-1',
      Name: 'web',
      Tags: ['v2'],
      Address: '10.0.0.1',
      Port: 8080,
      Meta: { a: 'b' },
      Weights: { Passing: 10, Warning: 1 },
      Check: { CheckID: 'service:web-1', Name: "Service 'web' check", TTL: '15000ms', Status: 'passing', DeregisterCriticalServiceAfter: '60000ms' },
    });
    expect(def.ttlMs).toBe(15_000);
    const http = buildServiceDefinition({ name: 'web', port: 1, check: { http: 'http://x/health', interval: '10s', timeout: 2_000 } });
    expect(http.body.Check).toMatchObject({ HTTP: 'http://x/health', Interval: '10000ms', Timeout: '2000ms' });
    expect(http.ttlMs).toBeUndefined();
    const https = buildServiceDefinition({
      name: 'web',
      port: 1,
      check: { http: 'https://10.0.0.1/health', interval: '10s', tlsServerName: 'web.internal', tlsSkipVerify: false },
    });
    expect(https.body.Check).toMatchObject({ HTTP: 'https://10.0.0.1/health', TLSServerName: 'web.internal', TLSSkipVerify: false });
    expect(buildServiceDefinition({ name: 'db', port: 5432, check: { tcp: '10.0.0.1:5432', interval: '5s' } }).body.Check).toMatchObject({
      TCP: '10.0.0.1:5432',
    });
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
      [{ name: 'x', port: 1, check: {} }, /one of ttl .*, http .* or tcp/],
    ];
    for (const [opts, re] of bad) expect(() => buildServiceDefinition(opts as never)).toThrow(re);
  });

  // Each of these was accepted (or failed with a TypeError) before: plain JavaScript callers
  // get no help from the types, so the checks are at run time.
  it.each<[string, unknown, RegExp]>([
    ['an HTTP check without interval', { http: 'http://127.0.0.1:8080/health' }, /check\.interval is required with check\.http/],
    ['a TCP check without interval', { tcp: '127.0.0.1:5432' }, /check\.interval is required with check\.tcp/],
    ['a check of two kinds (ttl and http)', { ttl: '15s', http: 'http://127.0.0.1:8080/health', interval: '10s' }, /check has ttl and http; .*only one/],
    ['a misspelled check key', { http: 'http://127.0.0.1:8080/health', intervall: '10s' }, /unknown option "intervall" \(did you mean interval\?\)/],
    ['a misspelled check kind', { htpp: 'http://127.0.0.1:8080/health', interval: '10s' }, /unknown option "htpp" \(did you mean http\?\)/],
    ['a key of another kind of check', { ttl: '15s', interval: '10s' }, /check \(a ttl check\): unknown option "interval"/],
    ['an HTTP check that is not a URL', { http: '127.0.0.1:8080/health', interval: '10s' }, /check\.http must be an http:\/\/ or https:\/\/ URL/],
    ['a TCP check that is not host:port', { tcp: 'db', interval: '10s' }, /check\.tcp must be "host:port"/],
    ['an unknown initial status', { ttl: '15s', initialStatus: 'ok' }, /check\.initialStatus must be passing, warning or critical/],
    ['a check that is not an object', 'ttl:15s', /check must be an object/],
  ])('rejects %s with BEACON_ERR_VALIDATION naming the field', (_what, check, re) => {
    const run = () => buildServiceDefinition({ name: 'x', port: 1, check } as never);
    expect(run).toThrow(re);
    expect(run).toThrow(BeaconClientError);
  });

  it('rejects an unknown register option with a suggestion, and weights out of range', () => {
    expect(() => buildServiceDefinition({ name: 'x', port: 1, tag: ['v2'] } as never)).toThrow(
      /register options: unknown option "tag" \(did you mean tags\?\)/,
    );
    expect(() => buildServiceDefinition({ name: 'x', port: 1, weights: { passing: 70_000 } })).toThrow(/weights\.passing must be an integer from 0 to 65535/);
    expect(() => buildServiceDefinition({ name: 'x', port: 1, weights: { pasing: 2 } } as never)).toThrow(/did you mean passing\?/);
  });
});

describe('registration keep-alive', () => {
  it('registers, heartbeats, and deregisters against a real HTTP server', async () => {
    const { f, c } = await setup();
    const reg = await c.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8080, check: { ttl: 300 } });
    expect(f.registered.get('web-1')).toMatchObject({ Name: 'web', Port: 8080 });
    await until(() => f.count('/v1/agent/check/pass/', 'PUT') >= 3, 10_000, 'three heartbeats');
    const beats = f.requests.filter((r) => r.path === '/v1/agent/check/pass/service%3Aweb-1' || r.path === '/v1/agent/check/pass/service:web-1');
    expect(beats.length).toBeGreaterThanOrEqual(3);
    await reg.deregister();
    expect(reg.active).toBe(false);
    expect(f.registered.has('web-1')).toBe(false);
    expect(c.registrations).toHaveLength(0);
  });

  it('registers again when the server forgets the instance (TTL check: 500 "does not have associated TTL")', async () => {
    const { f, c } = await setup();
    const reg = await c.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8080, check: { ttl: 150 } });
    f.registered.clear();
    await until(() => reg.reregistrations >= 1, 10_000, 're-registration');
    expect(f.registered.has('web-1')).toBe(true);
    expect(f.count('/v1/agent/service/register', 'PUT')).toBeGreaterThanOrEqual(2);
  });

  it('registers again an instance with an HTTP check once the catalog no longer lists it', async () => {
    const { f, c } = await setup({ verifyRegistrationMs: 1_000 });
    await c.register({ name: 'web', id: 'web-2', address: '127.0.0.1', port: 8081, check: { http: 'http://127.0.0.1:8081/health', interval: '10s' } });
    f.registered.clear();
    await until(() => f.registered.has('web-2'), 10_000, 're-registration');
  });

  it('keeps heartbeating through an outage and a failover', async () => {
    const a = await FakeConsul.start();
    const b = await FakeConsul.start();
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const c = new BeaconClient({ servers: [a.url, b.url], deregisterOnSignals: false, requestTimeoutMs: 500 });
    cleanup.push(() => c.close());
    await c.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8080, check: { ttl: 150 } });
    await a.close();
    // b has never heard of the instance: the heartbeat there says unknown, so it registers on b.
    await until(() => b.registered.has('web-1'), 10_000, 'registration on b');
    await until(() => b.count('/v1/agent/check/pass/', 'PUT') >= 2, 10_000, 'heartbeats on b');
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

/** An in-memory registry: answers at once, so the keep-alive schedule runs on the fake clock alone. */
class MemoryRegistry {
  /** Fake-clock time (ms since the test began) and path of each request. */
  calls: Array<{ at: number; method: string; path: string }> = [];
  /** Heartbeats fail as if the registry were unreachable. */
  down = false;
  /** Whether the registry knows the instance (set by registering; cleared to simulate lost state). */
  known = false;
  readonly t0 = Date.now();
  readonly transport = {
    request: (req: RegistryRequest): Promise<RegistryResponse> => {
      this.calls.push({ at: Date.now() - this.t0, method: req.method, path: req.path });
      if (req.path === '/v1/agent/service/register') this.known = true;
      if (req.path.startsWith('/v1/agent/service/deregister/')) this.known = false;
      if (req.path.startsWith('/v1/agent/check/pass/')) {
        if (this.down) return Promise.reject(new Error('registry unreachable'));
        if (!this.known) return Promise.resolve({ status: 500, headers: {}, text: 'CheckID "service:web-1" does not have associated TTL', server: 'mem' });
      }
      return Promise.resolve({ status: 200, headers: {}, text: '', server: 'mem' });
    },
  } as unknown as RegistryTransport;

  beats(): number[] {
    return this.calls.filter((c) => c.path.startsWith('/v1/agent/check/pass/')).map((c) => c.at);
  }
}

describe('registration keep-alive schedule (fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A TTL-checked instance on the in-memory registry, with `random` driving the jitter. */
  async function started(random: () => number, ttl = 300) {
    vi.useFakeTimers();
    const m = new MemoryRegistry();
    const def = buildServiceDefinition({ name: 'web', id: 'web-1', port: 8080, check: { ttl } });
    const reg = new Registration(def, m.transport, { verifyMs: 60_000, log: () => {}, random }, () => {});
    await reg.start();
    return { m, reg };
  }

  it('heartbeats every third of the TTL with ±10 % jitter, and stops after deregistering', async () => {
    // Jitter draws 0, 1, 0.5, ...: gaps of 90, 110 and 100 ms for a 300 ms TTL.
    const draws = [0, 1, 0.5];
    let i = 0;
    const { m, reg } = await started(() => draws[i++ % draws.length]);
    expect(m.calls[0]).toMatchObject({ at: 0, method: 'PUT', path: '/v1/agent/service/register' });
    await vi.advanceTimersByTimeAsync(89);
    expect(m.beats()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.beats()).toEqual([90]);
    await vi.advanceTimersByTimeAsync(210);
    expect(m.beats()).toEqual([90, 200, 300]);
    await reg.deregister();
    expect(m.calls.at(-1)).toMatchObject({ method: 'PUT', path: '/v1/agent/service/deregister/web-1' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(m.beats()).toEqual([90, 200, 300]);
  });

  it('retries a failed heartbeat with back-off well inside the period, then resumes the period', async () => {
    // TTL 600 ms: period 200 ms with ±10 % jitter; jitter draws 0, so every period is 180 ms.
    const { m, reg } = await started(() => 0, 600);
    await vi.advanceTimersByTimeAsync(180);
    expect(m.beats()).toEqual([180]);
    m.down = true;
    await vi.advanceTimersByTimeAsync(180);
    expect(m.beats()).toEqual([180, 360]);
    // Back-off from min(500, 200 / 4) = 50 ms with equal jitter at 0: 25 ms, then 50 ms.
    await vi.advanceTimersByTimeAsync(24);
    expect(m.beats()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.beats()).toEqual([180, 360, 385]);
    m.down = false;
    await vi.advanceTimersByTimeAsync(49);
    expect(m.beats()).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.beats()).toEqual([180, 360, 385, 435]);
    // Recovered: the next heartbeat is one period later again, and the back-off starts over.
    await vi.advanceTimersByTimeAsync(180);
    expect(m.beats()).toEqual([180, 360, 385, 435, 615]);
    m.down = true;
    await vi.advanceTimersByTimeAsync(180 + 25);
    expect(m.beats()).toEqual([180, 360, 385, 435, 615, 795, 820]);
    reg.stop();
  });

  it('registers again, then heartbeats, when the registry no longer knows the check', async () => {
    const { m, reg } = await started(() => 0.5);
    m.known = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(reg.reregistrations).toBe(1);
    expect(m.known).toBe(true);
    expect(m.calls.map((c) => `${c.at} ${c.path}`)).toEqual([
      '0 /v1/agent/service/register',
      '100 /v1/agent/check/pass/service%3Aweb-1',
      '100 /v1/agent/service/register',
      '100 /v1/agent/check/pass/service%3Aweb-1',
    ]);
    // Known again: the next period brings one plain heartbeat.
    await vi.advanceTimersByTimeAsync(100);
    expect(reg.reregistrations).toBe(1);
    expect(m.calls).toHaveLength(5);
    reg.stop();
  });
});
