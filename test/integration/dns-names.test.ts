/**
 * Beacon's DNS names and records, asked with the real dig and with node:dns's Resolver
 * against an in-process DNS server on a real embedded store and catalog.
 */
import { promises as dnsPromises } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { startDnsHarness, type DnsHarness } from '../helpers/dns-harness.js';

let h: DnsHarness;
const q = (...args: string[]) => dig(h.port, args);

beforeAll(async () => {
  ensureDig();
  h = await startDnsHarness({ altDomain: 'beacon.internal' }, { nodeName: 'beacon-1' });
  await h.register(
    { node: 'n1', address: '10.0.0.1', service: 'web', tags: ['v1', 'Primary'], port: 8001, status: 'passing', nodeMeta: { rack: 'r1', zone: 'a' } },
    { node: 'n2', address: '10.0.0.2', service: 'web', tags: ['v2'], port: 8002, status: 'passing' },
    { node: 'n3', address: '10.0.0.3', service: 'api', serviceAddress: '192.168.1.30', port: 9000 },
    { node: 'n4', address: '2001:db8::4', service: 'ipv6svc', port: 7000 },
    { node: 'n5', address: '10.0.0.5', service: 'ext', serviceAddress: 'db.example.com', port: 5432 },
    { node: 'beacon-1', address: '127.0.0.1', service: 'beacon', port: 8500 },
  );
});

afterAll(async () => {
  await h?.close();
});

const datas = (rs: { data: string }[]) => rs.map((r) => r.data).sort();

describe('service names', () => {
  it('answers A records of healthy instances, authoritative, with the service TTL', async () => {
    const r = await q('web.service.consul', 'A');
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('aa');
    expect(r.flags).not.toContain('ra');
    expect(datas(r.answer)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(r.answer.every((a) => a.ttl === 5 && a.type === 'A' && a.name === 'web.service.consul.')).toBe(true);
  });

  it('is case-insensitive and echoes the question as asked', async () => {
    const r = await q('WEB.Service.CONSUL', 'A');
    expect(datas(r.answer)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(r.answer[0].name).toBe('WEB.Service.CONSUL.');
  });

  it('filters by tag, case-insensitively', async () => {
    expect(datas((await q('v1.web.service.consul', 'A')).answer)).toEqual(['10.0.0.1']);
    expect(datas((await q('primary.web.service.consul', 'A')).answer)).toEqual(['10.0.0.1']);
    const none = await q('v9.web.service.consul', 'A');
    expect(none.status).toBe('NOERROR');
    expect(none.answer).toEqual([]);
    expect(none.authority[0]?.type).toBe('SOA');
  });

  it('answers SRV with port, priority 1, weight, and the target address in additional', async () => {
    const r = await q('web.service.consul', 'SRV');
    expect(r.answer.map((a) => a.data).sort()).toEqual(['1 1 8001 n1.node.dc1.consul.', '1 1 8002 n2.node.dc1.consul.']);
    expect(
      r.additional
        .filter((a) => a.type === 'A')
        .map((a) => `${a.name} ${a.data}`)
        .sort(),
    ).toEqual(['n1.node.dc1.consul. 10.0.0.1', 'n2.node.dc1.consul. 10.0.0.2']);
  });

  it('answers RFC 2782 names: _svc._tcp (no tag), _svc._tag, with or without .service', async () => {
    expect((await q('_web._tcp.service.consul', 'SRV')).answer).toHaveLength(2);
    expect((await q('_web._v2.service.consul', 'SRV')).answer.map((a) => a.data)).toEqual(['1 1 8002 n2.node.dc1.consul.']);
    expect((await q('_web._tcp.consul', 'SRV')).answer).toHaveLength(2);
    expect((await q('_web._tcp.dc1.consul', 'SRV')).answer).toHaveLength(2);
  });

  it('uses the service address over the node address, as <hex>.addr SRV target', async () => {
    expect(datas((await q('api.service.consul', 'A')).answer)).toEqual(['192.168.1.30']);
    const srv = await q('api.service.consul', 'SRV');
    expect(srv.answer[0].data).toBe('1 1 9000 c0a8011e.addr.dc1.consul.');
    expect(srv.additional.find((a) => a.type === 'A')).toMatchObject({ name: 'c0a8011e.addr.dc1.consul.', data: '192.168.1.30' });
    expect((await q('c0a8011e.addr.dc1.consul', 'A')).answer[0]?.data).toBe('192.168.1.30');
  });

  it('answers AAAA for IPv6 addresses and NODATA for the wrong family', async () => {
    expect((await q('ipv6svc.service.consul', 'AAAA')).answer.map((a) => a.data)).toEqual(['2001:db8::4']);
    const a = await q('ipv6svc.service.consul', 'A');
    expect(a.status).toBe('NOERROR');
    expect(a.answer).toEqual([]);
    expect(a.authority[0]?.type).toBe('SOA');
  });

  it('answers a CNAME for a host-name address', async () => {
    const r = await q('ext.service.consul', 'A');
    expect(r.answer).toEqual([expect.objectContaining({ type: 'CNAME', data: 'db.example.com.' })]);
  });

  it('answers ANY with A and AAAA only', async () => {
    const r = await q('web.service.consul', 'ANY');
    expect(r.answer.map((a) => a.type)).toEqual(['A', 'A']);
  });
});

describe('datacenters and domains', () => {
  it('answers for the local datacenter and NXDOMAIN with SOA for another', async () => {
    expect((await q('web.service.dc1.consul', 'A')).answer).toHaveLength(2);
    const other = await q('web.service.dc2.consul', 'A');
    expect(other.status).toBe('NXDOMAIN');
    expect(other.authority[0]).toMatchObject({ type: 'SOA', name: 'consul.' });
  });

  it('answers under the alt domain, with targets in that domain', async () => {
    expect(datas((await q('web.service.beacon.internal', 'A')).answer)).toEqual(['10.0.0.1', '10.0.0.2']);
    const srv = await q('web.service.dc1.beacon.internal', 'SRV');
    expect(srv.answer.map((a) => a.data).sort()[0]).toBe('1 1 8001 n1.node.dc1.beacon.internal.');
    const neg = await q('nope.service.beacon.internal', 'A');
    expect(neg.authority[0]).toMatchObject({ type: 'SOA', name: 'beacon.internal.' });
  });

  it('answers SOA and NS at the apex, with NS glue', async () => {
    const soa = await q('consul', 'SOA');
    expect(soa.answer[0]).toMatchObject({ type: 'SOA', ttl: 0 });
    expect(soa.answer[0].data).toMatch(/^ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0$/);
    const ns = await q('consul', 'NS');
    expect(ns.answer[0]).toMatchObject({ type: 'NS', data: 'beacon-1.node.dc1.consul.' });
    expect(ns.additional.find((a) => a.type === 'A')).toMatchObject({ name: 'beacon-1.node.dc1.consul.', data: '127.0.0.1' });
  });

  it('answers NXDOMAIN for names in the domain it does not serve', async () => {
    for (const name of ['foo.consul', 'a.b.web.service.consul', 'x.query.consul']) {
      const r = await q(name, 'A');
      expect(r.status, name).toBe('NXDOMAIN');
      expect(r.authority[0]?.type, name).toBe('SOA');
    }
  });
});

describe('node names and reverse lookups', () => {
  it('answers node A with TTL 0 and node meta as TXT', async () => {
    const a = await q('n1.node.consul', 'A');
    expect(a.answer).toEqual([expect.objectContaining({ type: 'A', data: '10.0.0.1', ttl: 0 })]);
    const txt = await q('n1.node.dc1.consul', 'TXT');
    expect(txt.answer.map((r) => r.data)).toEqual(['"rack=r1"', '"zone=a"']);
    expect((await q('n2.node.consul', 'TXT')).answer).toEqual([]);
    expect((await q('nope.node.consul', 'A')).status).toBe('NXDOMAIN');
  });

  it('answers PTR for node and service addresses, IPv4 and IPv6', async () => {
    expect((await q('-x', '10.0.0.1')).answer.map((a) => a.data)).toEqual(['n1.node.dc1.consul.']);
    expect((await q('-x', '192.168.1.30')).answer.map((a) => a.data)).toEqual(['api.service.dc1.consul.']);
    expect((await q('-x', '2001:db8::4')).answer.map((a) => a.data)).toEqual(['n4.node.dc1.consul.']);
    const unknown = await q('-x', '10.9.9.9');
    expect(unknown.status).toBe('NXDOMAIN');
    expect(unknown.authority[0]?.type).toBe('SOA');
  });
});

describe('node:dns Resolver', () => {
  it('resolves A and SRV records', async () => {
    const r = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${h.port}`]);
    expect((await r.resolve4('web.service.consul')).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    const srv = await r.resolveSrv('_web._tcp.service.consul');
    expect(srv.map((s) => `${s.name}:${s.port}:${s.priority}:${s.weight}`).sort()).toEqual(['n1.node.dc1.consul:8001:1:1', 'n2.node.dc1.consul:8002:1:1']);
    expect(await r.resolve6('ipv6svc.service.consul')).toEqual(['2001:db8::4']);
    expect(await r.resolveTxt('n1.node.consul')).toEqual([['rack=r1'], ['zone=a']]);
    expect(await r.reverse('10.0.0.2')).toEqual(['n2.node.dc1.consul']);
    await expect(r.resolve4('nope.service.consul')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
