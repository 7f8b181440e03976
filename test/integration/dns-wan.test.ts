/**
 * The DNS server's federation hooks, in process: names of another datacenter are forwarded to
 * that datacenter's DNS (a second real DNS server on its own store) as soon as it is known, never
 * from a cached NXDOMAIN of before; an unreachable one answers SERVFAIL; the remote's truncation
 * reaches the client; and prepared-query names answer from what the query ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer, type DnsWan, type QueryAnswer } from '../../src/dns/index.js';
import type { HostPort } from '../../src/config/index.js';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { startDnsHarness, type DnsHarness } from '../helpers/dns-harness.js';

let local: DnsHarness;
let remote: DnsHarness;
let dns: DnsServer;
let dc2: HostPort[] | undefined;
let query: () => Promise<QueryAnswer | undefined>;

beforeAll(async () => {
  ensureDig();
  local = await startDnsHarness({}, { datacenter: 'dc1' });
  remote = await startDnsHarness({}, { datacenter: 'dc2', nodeName: 'remote-1' });
  await remote.register({ node: 'r1', address: '10.2.0.1', service: 'web', port: 8082 });
  for (let i = 0; i < 40; i++) await remote.register({ node: `big-${i}`, address: `10.3.0.${i + 1}`, service: 'big', port: 9000 + i });
  const wan: DnsWan = {
    dnsServers: (dc) => (dc === 'dc2' ? dc2 : undefined),
    preparedQuery: () => query(),
  };
  // A second DNS server on the local catalog, with the hooks (the harness's own has none).
  dns = await startDnsServer({ catalog: local.catalog, config: local.config, datacenter: 'dc1', nodeName: 'beacon-1', wan });
}, 60_000);

afterAll(async () => {
  await dns?.close();
  await Promise.allSettled([local?.close(), remote?.close()]);
});

describe('DNS names of other datacenters', () => {
  it('answers from the remote once the datacenter is known, though NXDOMAIN was answered before (nothing cached)', async () => {
    dc2 = undefined;
    expect((await dig(dns.udpAddress.port, ['web.service.dc2.consul', 'SRV'])).status).toBe('NXDOMAIN');
    dc2 = [remote.dns.udpAddress];
    const srv = await dig(dns.udpAddress.port, ['web.service.dc2.consul', 'SRV']);
    expect(srv.status).toBe('NOERROR');
    expect(srv.answer.map((a) => a.data)).toEqual(['1 1 8082 r1.node.dc2.consul.']);
    const node = await dig(dns.udpAddress.port, ['r1.node.dc2.consul', 'A']);
    expect(node.answer.map((a) => a.data)).toEqual(['10.2.0.1']);
  });

  it('relays the remote truncation over UDP, and the whole answer over TCP', async () => {
    dc2 = [remote.dns.udpAddress];
    const udp = await dig(dns.udpAddress.port, ['big.service.dc2.consul', 'SRV', '+noedns', '+ignore']);
    expect(udp.flags).toContain('tc');
    const tcp = await dig(dns.udpAddress.port, ['big.service.dc2.consul', 'SRV', '+tcp']);
    expect(tcp.flags).not.toContain('tc');
    expect(tcp.answer).toHaveLength(40);
  });

  it('answers SERVFAIL for a datacenter with no answering DNS server', async () => {
    dc2 = [];
    expect((await dig(dns.udpAddress.port, ['web.service.dc2.consul', 'A'])).status).toBe('SERVFAIL');
  });
});

describe('prepared-query names', () => {
  const entry = (node: string, address: string, port: number) => ({
    Node: { Node: node, Address: address },
    Service: { ID: `${node}-svc`, Service: 'pay', Tags: [], Address: '', Port: port },
    Checks: [{ CheckID: 'serfHealth', Status: 'passing' }],
  });

  it('answer A and SRV from the query result, named in the datacenter that answered, with the query TTL', async () => {
    query = () => Promise.resolve({ entries: [entry('p1', '10.2.0.9', 9002)], datacenter: 'dc2', ttl: 7 });
    const srv = await dig(dns.udpAddress.port, ['pay.query.consul', 'SRV']);
    expect(srv.answer.map((a) => [a.ttl, a.data])).toEqual([[7, '1 1 9002 p1.node.dc2.consul.']]);
    expect(srv.additional.map((a) => a.data)).toContain('10.2.0.9');
    const a = await dig(dns.udpAddress.port, ['pay.query.consul', 'A']);
    expect(a.answer.map((x) => x.data)).toEqual(['10.2.0.9']);
  });

  it('answer NOERROR with no records for an empty result, NXDOMAIN for an unknown query, SERVFAIL when it cannot run', async () => {
    query = () => Promise.resolve({ entries: [], datacenter: 'dc1', ttl: undefined });
    const empty = await dig(dns.udpAddress.port, ['pay.query.consul', 'A']);
    expect([empty.status, empty.answer]).toEqual(['NOERROR', []]);
    query = () => Promise.resolve(undefined);
    expect((await dig(dns.udpAddress.port, ['nope.query.consul', 'A'])).status).toBe('NXDOMAIN');
    query = () => Promise.reject(new Error('took too long'));
    expect((await dig(dns.udpAddress.port, ['pay.query.consul', 'A'])).status).toBe('SERVFAIL');
  });
});
