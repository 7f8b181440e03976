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

  it('reads servers and token from the environment, and applies floors and ceilings', () => {
    const cfg = resolveConfig({ waitMs: 9e9, requestTimeoutMs: 1, retries: 99 }, { CONSUL_HTTP_ADDR: '10.0.0.1:8500,https://b:8501/', CONSUL_HTTP_TOKEN: 't' });
    expect(cfg.servers).toEqual(['http://10.0.0.1:8500', 'https://b:8501']);
    expect(cfg.serversGiven).toBe(true);
    expect(cfg.token).toBe('t');
    expect(cfg.waitMs).toBe(600_000);
    expect(cfg.requestTimeoutMs).toBe(100);
    expect(cfg.retries).toBe(10);
  });

  it('rejects bad options naming them', () => {
    expect(() => resolveConfig({ servers: [] }, {})).toThrow(/servers/);
    expect(() => resolveConfig({ servers: ['ftp://x'] }, {})).toThrow(/http or https/);
    expect(() => resolveConfig({ strategy: 'best' as never }, {})).toThrow(/strategy/);
    expect(() => resolveConfig({ services: { web: { strategy: 'x' as never } } }, {})).toThrow(/services\.web\.strategy/);
    expect(() => resolveConfig({ waitMs: Number.NaN }, {})).toThrow(/waitMs/);
    expect(normalizeServerUrl('127.0.0.1:8500/v1/')).toBe('http://127.0.0.1:8500');
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

  it('refuses work once closed', async () => {
    const c = staticClient();
    await c.close();
    await c.close();
    await expect(c.discover('web')).rejects.toMatchObject({ code: 'BEACON_ERR_CLIENT_CLOSED' });
    await expect(c.pick('web')).rejects.toMatchObject({ code: 'BEACON_ERR_CLIENT_CLOSED' });
    expect(() => c.dispatcher).toThrow(/closed/);
  });
});
