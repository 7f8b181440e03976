import { afterEach, describe, expect, it } from 'vitest';
import { BeaconClient } from './client.js';
import { resolveConfig } from './options.js';
import { until } from './transport/fake-consul.test-suite.js';
import type { ServiceChange } from './discovery/index.js';
import { encodeQuery, normalizeServerUrl } from './transport/index.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** What `fn` throws (undefined when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

function staticClient(extra: ConstructorParameters<typeof BeaconClient>[0] = {}) {
  const c = new BeaconClient({
    static: { web: ['10.0.0.1:80', { address: '10.0.0.2', port: 80, weight: 3, tags: ['v2'] }], empty: [] },
    deregisterOnSignals: false,
    ...extra,
  });
  cleanup.push(() => c.close());
  return c;
}

describe('configuration', () => {
  it('has pinned defaults', () => {
    const cfg = resolveConfig({}, {});
    expect(cfg).toEqual({
      servers: ['http://127.0.0.1:8500'],
      serversGiven: false,
      token: undefined,
      datacenter: undefined,
      strategy: 'p2c-ewma',
      serviceStrategies: new Map(),
      retries: 2,
      hashKeyHeader: 'x-beacon-hash-key',
      requestTimeoutMs: 10_000,
      waitMs: 60_000,
      allowStale: false,
      retry: { baseMs: 200, maxMs: 30_000 },
      verifyRegistrationMs: 30_000,
      signals: ['SIGTERM', 'SIGINT'],
      shutdownTimeoutMs: 3_000,
    });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('reads servers and token from the environment', () => {
    const cfg = resolveConfig({}, { CONSUL_HTTP_ADDR: '10.0.0.1:8500,https://b:8501/', CONSUL_HTTP_TOKEN: 't' });
    expect(cfg.servers).toEqual(['http://10.0.0.1:8500', 'https://b:8501']);
    expect(cfg.serversGiven).toBe(true);
    expect(cfg.token).toBe('t');
    expect(resolveConfig({}, { BEACON_HTTP_TOKEN: 'b', CONSUL_HTTP_TOKEN: 't' }).token).toBe('b');
    expect(resolveConfig({ token: 'o' }, { BEACON_HTTP_TOKEN: 'b' }).token).toBe('o');
  });

  it('accepts every bound itself', () => {
    const cfg = resolveConfig({ retries: 10, waitMs: 600_000, requestTimeoutMs: 100, verifyRegistrationMs: 1_000, shutdownTimeoutMs: 0 }, {});
    expect(cfg).toMatchObject({ retries: 10, waitMs: 600_000, requestTimeoutMs: 100, verifyRegistrationMs: 1_000, shutdownTimeoutMs: 0 });
    expect(resolveConfig({ retries: 0, waitMs: 100, retry: { baseMs: 10, maxMs: 10 } }, {})).toMatchObject({
      retries: 0,
      waitMs: 100,
      retry: { baseMs: 10, maxMs: 10 },
    });
  });

  // Out of range is refused, not clamped: a value the client would not use as given is a mistake to report.
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['retries above 10', { retries: 11 }, /retries must be an integer from 0 to 10, got 11/],
    ['negative retries', { retries: -1 }, /retries must be an integer from 0 to 10, got -1/],
    ['fractional retries', { retries: 1.5 }, /retries must be an integer/],
    ['waitMs below 100', { waitMs: 50 }, /waitMs must be a number from 100 ms to 600000 ms, got 50/],
    ['waitMs above the server cap', { waitMs: 9e9 }, /waitMs must be a number from 100 ms to 600000 ms/],
    ['requestTimeoutMs below 100', { requestTimeoutMs: 5 }, /requestTimeoutMs must be a number at least 100 ms, got 5/],
    ['verifyRegistrationMs below 1 s', { verifyRegistrationMs: 10 }, /verifyRegistrationMs must be a number at least 1000 ms/],
    ['a negative shutdownTimeoutMs', { shutdownTimeoutMs: -1 }, /shutdownTimeoutMs/],
    ['a retry.maxMs below retry.baseMs', { retry: { baseMs: 1_000, maxMs: 500 } }, /retry\.maxMs \(at least retry\.baseMs\)/],
    ['a waitMs given as a string', { waitMs: '60s' }, /waitMs must be a number .*, got "60s"/],
    ['an unknown key (a typo)', { server: ['http://127.0.0.1:8500'] }, /unknown option "server" \(did you mean servers\?\)/],
    ['an unknown key (no close match)', { colour: 'blue' }, /unknown option "colour"; the options are servers, token/],
    ['dns and static together', { dns: {}, static: { web: [] } }, /static and dns are different discovery modes; pass only one/],
    ['discovery and dns together', { dns: {}, discovery: { snapshot() {}, current() {}, watch() {}, close() {} } }, /discovery and dns/],
    ['an unknown dns key', { dns: { server: ['127.0.0.1:8600'] } }, /dns: unknown option "server" \(did you mean servers\?\)/],
    ['a dns.refreshMs below 100', { dns: { refreshMs: 10 } }, /dns\.refreshMs must be a number at least 100 ms/],
    ['dns.servers that is not a list', { dns: { servers: '127.0.0.1:8600' } }, /dns\.servers must be a non-empty array/],
    ['a static list that is not an array', { static: { web: '10.0.0.1:80' } }, /static\.web must be an array/],
    [
      'an unknown static endpoint key',
      { static: { web: [{ address: '10.0.0.1', port: 80, wieght: 2 }] } },
      /unknown option "wieght" \(did you mean weight\?\)/,
    ],
    ['a retry.baseMs below 10', { retry: { baseMs: 5 } }, /retry\.baseMs must be a number at least 10 ms, got 5/],
    ['an unknown retry key', { retry: { base: 100 } }, /retry: unknown option "base" \(did you mean baseMs\?\)/],
    ['a dns.timeoutMs of 0', { dns: { timeoutMs: 0 } }, /dns\.timeoutMs must be an integer at least 1 ms/],
    [
      'passiveHealth.consecutiveFailures 0',
      { passiveHealth: { consecutiveFailures: 0 } },
      /passiveHealth\.consecutiveFailures must be an integer from 1 to 1000/,
    ],
    ['passiveHealth.baseEjectionMs 0', { passiveHealth: { baseEjectionMs: 0 } }, /passiveHealth\.baseEjectionMs must be a number at least 1 ms/],
    ['a maxEjectionMs below baseEjectionMs', { passiveHealth: { baseEjectionMs: 5_000, maxEjectionMs: 1_000 } }, /maxEjectionMs \(at least baseEjectionMs\)/],
    ['a negative balancer.failurePenaltyMs', { balancer: { failurePenaltyMs: -1 } }, /balancer\.failurePenaltyMs must be a number at least 0 ms/],
    ['balancer.decayMs 0', { balancer: { decayMs: 0 } }, /balancer\.decayMs must be a number at least 1 ms/],
    ['a datacenter that is empty', { datacenter: '' }, /datacenter must be a non-empty string/],
    ['a token that is not a string', { token: 42 }, /token must be a string, got 42/],
    ['servers that is not an array', { servers: 'http://127.0.0.1:8500' }, /servers must be a non-empty array/],
    ['a passiveHealth fraction above 0.5', { passiveHealth: { maxEjectedFraction: 0.9 } }, /passiveHealth\.maxEjectedFraction must be a number from 0 to 0\.5/],
    ['an unknown passiveHealth key', { passiveHealth: { consecutiveFailure: 3 } }, /did you mean consecutiveFailures\?/],
    ['passiveHealth: true', { passiveHealth: true }, /passiveHealth must be an object of settings, or false/],
    ['an unknown balancer key', { balancer: { virtualNode: 100 } }, /did you mean virtualNodes\?/],
    ['balancer.virtualNodes 0', { balancer: { virtualNodes: 0 } }, /balancer\.virtualNodes must be an integer from 1 to 10000/],
    ['an unknown services entry key', { services: { web: { strategi: 'random' } } }, /services\.web: unknown option "strategi" \(did you mean strategy\?\)/],
    ['a misspelled strategy', { strategy: 'round_robin' }, /strategy must be one of .* \(did you mean round-robin\?\)/],
    ['a bad signal name', { deregisterOnSignals: ['TERM'] }, /deregisterOnSignals must be false or an array of signal names/],
    ['a logger that is not a function', { logger: console }, /logger must be a function/],
    ['a hashKeyHeader that is not a header name', { hashKeyHeader: 'x hash' }, /hashKeyHeader must be an HTTP header name/],
    ['an allowStale string', { allowStale: 'yes' }, /allowStale must be true or false/],
  ])('rejects %s with BEACON_ERR_VALIDATION', (_what, options, re) => {
    expect(() => resolveConfig(options as never, {})).toThrow(re);
    expect(thrown(() => new BeaconClient(options as never))).toMatchObject({ code: 'BEACON_ERR_VALIDATION' });
  });

  it('rejects bad options naming them', () => {
    expect(() => resolveConfig({ servers: [] }, {})).toThrow(/servers/);
    expect(() => resolveConfig({ servers: ['ftp://x'] }, {})).toThrow(/http or https/);
    expect(() => resolveConfig({ strategy: 'best' as never }, {})).toThrow(/strategy/);
    expect(() => resolveConfig({ services: { web: { strategy: 'x' as never } } }, {})).toThrow(/services\.web\.strategy/);
    expect(() => resolveConfig({ waitMs: Number.NaN }, {})).toThrow(/waitMs/);
    expect(normalizeServerUrl('127.0.0.1:8500/v1/')).toBe('http://127.0.0.1:8500');
  });

  it('treats an option set to undefined as not given', () => {
    expect(resolveConfig({ retries: undefined, dns: undefined, static: { web: ['10.0.0.1:80'] } }, {}).retries).toBe(2);
  });

  it('encodes presence-only flags and repeated keys', () => {
    expect(encodeQuery({ passing: true, tag: ['a', 'b c'], dc: undefined, index: '5' })).toBe('?passing&tag=a&tag=b%20c&index=5');
    expect(encodeQuery({})).toBe('');
  });
});

describe('static mode through the client', () => {
  it('discovers fixed endpoints, filters tags, and is never stale', async () => {
    const c = staticClient();
    const snap = await c.discover('web');
    expect(snap.instances.map((i) => i.id)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(snap.stale).toBe(false);
    expect((await c.discover('web', { tag: 'v2' })).instances.map((i) => i.weight)).toEqual([3]);
    expect((await c.discover('nothing')).instances).toEqual([]);
  });

  it('picks with the configured strategy per service and reports a service without instances', async () => {
    const c = staticClient({ strategy: 'random', services: { web: { strategy: 'round-robin' } } });
    const a = await c.pick('web');
    const b = await c.pick('web');
    expect(a.id).not.toBe(b.id);
    await expect(c.pick('empty')).rejects.toMatchObject({ code: 'BEACON_ERR_NO_INSTANCES' });
  });

  it('tracks calls through startCall and feeds passive health', async () => {
    const c = staticClient({ strategy: 'round-robin', passiveHealth: { consecutiveFailures: 1, baseEjectionMs: 60_000 } });
    const call = await c.startCall('web');
    call.done({ latencyMs: 3, failed: true });
    for (let i = 0; i < 6; i++) expect((await c.pick('web')).id).not.toBe(call.instance.id);
  });

  it('watch: first event lists everything; unsubscribe stops events; a throwing listener hurts nobody', async () => {
    const logs: string[] = [];
    const c = staticClient({ logger: (lvl, msg) => logs.push(`${lvl} ${msg}`) });
    const got: ServiceChange[] = [];
    c.watch('web', () => {
      throw new Error('boom');
    });
    const stop = c.watch('web', (ch) => got.push(ch));
    await until(() => got.length === 1);
    expect(got[0].added).toHaveLength(2);
    stop();
    expect(logs.some((l) => l.startsWith('error watch listener threw'))).toBe(true);
    expect(() => c.watch('web', 'nope' as never)).toThrow(/listener/);
  });

  it('refuses call options it does not take, naming them', async () => {
    const c = staticClient();
    await expect(c.discover('web', { tags: ['v2'] } as never)).rejects.toThrow(/discover options: unknown option "tags" \(did you mean tag\?\)/);
    expect(() => c.cached('web', { passng: true } as never)).toThrow(/cached options: unknown option "passng" \(did you mean passing\?\)/);
    expect(() => c.watch('web', () => {}, { dc: '' })).toThrow(/dc must be a non-empty string/);
    await expect(c.discover('web', { passing: 'yes' } as never)).rejects.toThrow(/passing must be true or false/);
    await expect(c.discover('web', { key: 'u' } as never)).rejects.toThrow(/unknown option "key"/);
    await expect(c.pick('web', { key: 42 } as never)).rejects.toThrow(/pick: key must be a string/);
    await expect(c.pick('web', { key: 'user-42' })).resolves.toMatchObject({ service: 'web' });
  });

  it('cached answers only the query discover asked, options included', async () => {
    const c = staticClient();
    await c.discover('web', { tag: 'v2', passing: true });
    expect(c.cached('web')).toBeUndefined();
    expect(c.cached('web', { tag: 'v2' })?.instances).toHaveLength(1);
  });

  it('refuses work once closed', async () => {
    const c = staticClient();
    await c.close();
    await c.close();
    await expect(c.discover('web')).rejects.toMatchObject({ code: 'BEACON_ERR_CLIENT_CLOSED' });
    await expect(c.pick('web')).rejects.toMatchObject({ code: 'BEACON_ERR_CLIENT_CLOSED' });
    expect(() => c.dispatcher).toThrow(/closed/);
  });
});
