import { afterEach, describe, expect, it } from 'vitest';
import { BeaconClient } from '../client.js';
import { until } from '../transport/fake-consul.test-suite.js';
import { decodeAddrTarget, srvName, type SrvResolver } from './dns-discovery.js';

class FakeResolver implements SrvResolver {
  srv = new Map<string, Array<{ name: string; port: number; priority: number; weight: number }>>();
  a = new Map<string, string[]>();
  fail: string | undefined;
  queries: string[] = [];
  resolveSrv(name: string) {
    this.queries.push(name);
    if (this.fail) return Promise.reject(Object.assign(new Error(`queryS ${this.fail} ${name}`), { code: this.fail }));
    const r = this.srv.get(name);
    if (!r) return Promise.reject(Object.assign(new Error(`queryS ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(r);
  }
  resolve4(name: string) {
    const r = this.a.get(name);
    if (!r) return Promise.reject(Object.assign(new Error('ENODATA'), { code: 'ENODATA' }));
    return Promise.resolve(r);
  }
  resolve6(): Promise<string[]> {
    return Promise.reject(Object.assign(new Error('ENODATA'), { code: 'ENODATA' }));
  }
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function dnsClient(resolver: FakeResolver, refreshMs = 100) {
  const c = new BeaconClient({ dns: { resolver, refreshMs }, retry: { baseMs: 20, maxMs: 50 }, deregisterOnSignals: false });
  cleanup.push(() => c.close());
  return c;
}

describe('DNS mode', () => {
  it('names SRV queries like Consul and decodes .addr targets', () => {
    expect(srvName('web', [], undefined, 'consul')).toBe('web.service.consul');
    expect(srvName('web', ['v2'], 'dc2', 'consul')).toBe('v2.web.service.dc2.consul');
    expect(decodeAddrTarget('7f000001.addr.dc1.consul.')).toBe('127.0.0.1');
    expect(decodeAddrTarget('20010db8000000000000000000000001.addr.dc1.consul')).toBe('2001:0db8:0000:0000:0000:0000:0000:0001');
    expect(decodeAddrTarget('node1.node.dc1.consul')).toBeUndefined();
  });

  it('discovers instances from SRV records, with weights and node targets resolved', async () => {
    const r = new FakeResolver();
    r.srv.set('web.service.consul', [
      { name: '0a000001.addr.dc1.consul', port: 8080, priority: 1, weight: 5 },
      { name: 'node2.node.dc1.consul', port: 8081, priority: 1, weight: 1 },
    ]);
    r.a.set('node2.node.dc1.consul', ['10.0.0.2']);
    const c = dnsClient(r);
    expect(c.mode).toBe('dns');
    const snap = await c.discover('web');
    expect(snap.instances.map((i) => [i.address, i.port, i.weight, i.node])).toEqual([
      ['10.0.0.1', 8080, 5, ''],
      ['10.0.0.2', 8081, 1, 'node2'],
    ]);
  });

  it('re-resolves periodically and tells watchers what changed', async () => {
    const r = new FakeResolver();
    r.srv.set('web.service.consul', [{ name: '0a000001.addr.dc1.consul', port: 1, priority: 1, weight: 1 }]);
    const c = dnsClient(r);
    const events: number[] = [];
    c.watch('web', (ch) => events.push(ch.instances.length));
    await until(() => events.length === 1);
    r.srv.set('web.service.consul', [
      { name: '0a000001.addr.dc1.consul', port: 1, priority: 1, weight: 1 },
      { name: '0a000002.addr.dc1.consul', port: 1, priority: 1, weight: 1 },
    ]);
    await until(() => events.length === 2, 1_000, 'refresh');
    expect(events).toEqual([1, 2]);
  });

  it('NXDOMAIN means no instances; a DNS outage keeps the last set, marked stale', async () => {
    const r = new FakeResolver();
    const c = dnsClient(r);
    expect((await c.discover('ghost')).instances).toEqual([]);
    r.srv.set('web.service.consul', [{ name: '0a000001.addr.dc1.consul', port: 1, priority: 1, weight: 1 }]);
    expect((await c.discover('web')).instances).toHaveLength(1);
    r.fail = 'ETIMEOUT';
    await until(() => c.cached('web')?.stale === true, 1_000, 'stale');
    const snap = await c.discover('web');
    expect(snap.instances).toHaveLength(1);
    expect(snap.error?.message).toContain('ETIMEOUT');
    r.fail = undefined;
    await until(() => c.cached('web')?.stale === false, 2_000, 'recovery');
  });

  it('refuses to register without an HTTP address', async () => {
    const c = dnsClient(new FakeResolver());
    await expect(c.register({ name: 'web', port: 1 })).rejects.toMatchObject({ code: 'BEACON_ERR_VALIDATION' });
  });
});
