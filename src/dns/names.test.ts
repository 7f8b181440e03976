import { describe, expect, it } from 'vitest';
import { canonicalIp, classifyName, domainLabels, expandIpv6, hexToIp, ipToHex } from './names.js';

const domains = [domainLabels('consul.'), domainLabels('beacon.example.')];
const c = (name: string) => classifyName(name.split('.').filter(Boolean), domains);

describe('classifyName', () => {
  it('reads service names with tags and datacenters', () => {
    expect(c('web.service.consul')).toEqual({ kind: 'service', domain: 'consul.', dc: undefined, service: 'web', tag: undefined, rfc2782: false });
    expect(c('v2.web.service.dc1.consul')).toMatchObject({ kind: 'service', service: 'web', tag: 'v2', dc: 'dc1' });
    expect(c('web.service.dc2.dc.consul')).toMatchObject({ kind: 'service', service: 'web', dc: 'dc2' });
    expect(c('a.b.web.service.consul')).toMatchObject({ kind: 'unknown' });
  });

  it('reads RFC 2782 names, with and without .service', () => {
    expect(c('_web._tcp.service.consul')).toMatchObject({ kind: 'service', service: 'web', tag: undefined, rfc2782: true });
    expect(c('_web._v2.service.dc1.consul')).toMatchObject({ kind: 'service', service: 'web', tag: 'v2', dc: 'dc1' });
    expect(c('_web._tcp.consul')).toMatchObject({ kind: 'service', service: 'web', tag: undefined, dc: undefined });
    expect(c('_web._tcp.dc1.consul')).toMatchObject({ kind: 'service', service: 'web', dc: 'dc1' });
  });

  it('reads node, addr and apex names, and the alt domain', () => {
    expect(c('n1.node.consul')).toMatchObject({ kind: 'node', node: 'n1', dc: undefined });
    expect(c('n1.node.dc1.beacon.example')).toMatchObject({ kind: 'node', node: 'n1', dc: 'dc1', domain: 'beacon.example.' });
    expect(c('7f000001.addr.dc1.consul')).toMatchObject({ kind: 'addr', ip: '127.0.0.1', family: 4 });
    expect(c('20010db8000000000000000000000001.addr.consul')).toMatchObject({ kind: 'addr', ip: '2001:db8::1', family: 6 });
    expect(c('zz.addr.consul')).toMatchObject({ kind: 'unknown' });
    expect(c('consul')).toEqual({ kind: 'apex', domain: 'consul.' });
    expect(c('beacon.example')).toEqual({ kind: 'apex', domain: 'beacon.example.' });
    expect(c('whatever.consul')).toMatchObject({ kind: 'unknown' });
  });

  it('reads reverse names and leaves the rest outside', () => {
    expect(c('4.3.2.10.in-addr.arpa')).toEqual({ kind: 'ptr', ip: '10.2.3.4' });
    const nibbles = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2';
    expect(c(`${nibbles}.ip6.arpa`)).toEqual({ kind: 'ptr', ip: '2001:db8::1' });
    expect(c('3.2.10.in-addr.arpa')).toEqual({ kind: 'ptr', ip: undefined });
    expect(c('300.3.2.10.in-addr.arpa')).toEqual({ kind: 'ptr', ip: undefined });
    expect(c('example.com')).toEqual({ kind: 'outside' });
    expect(c('consul.example.com')).toEqual({ kind: 'outside' });
  });
});

describe('address helpers', () => {
  it('round-trips hex addresses', () => {
    expect(ipToHex('10.0.0.1')).toBe('0a000001');
    expect(hexToIp('0a000001')).toEqual({ ip: '10.0.0.1', family: 4 });
    expect(ipToHex('::1')).toBe('00000000000000000000000000000001');
    expect(hexToIp(ipToHex('fe80::1:2')!)).toEqual({ ip: 'fe80::1:2', family: 6 });
    expect(ipToHex('not-an-ip')).toBeUndefined();
  });

  it('expands and canonicalises IPv6', () => {
    expect(expandIpv6('2001:db8::1')).toBe('2001:0db8:0000:0000:0000:0000:0000:0001');
    expect(expandIpv6('::ffff:1.2.3.4')).toBe('0000:0000:0000:0000:0000:ffff:0102:0304');
    expect(canonicalIp('2001:0DB8:0000::0001')).toBe('2001:db8::1');
    expect(canonicalIp('10.0.0.1')).toBe('10.0.0.1');
  });
});
