/**
 * Health filtering, negative answers, TTLs, shuffling, the A-record limit, and answers that
 * follow catalog changes at once (the answer cache is invalidated by catalog topics).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { startDnsHarness, type DnsHarness } from '../helpers/dns-harness.js';

const datas = (rs: { data: string }[]) => rs.map((r) => r.data).sort();

describe('default health filter (not critical)', () => {
  let h: DnsHarness;
  const q = (...args: string[]) => dig(h.port, args);

  beforeAll(async () => {
    ensureDig();
    h = await startDnsHarness({ dnsServiceTtl: '5s,web=10s,api*=1s', dnsNodeTtl: '30s', dnsARecordLimit: '3' });
    await h.register(
      { node: 'n1', address: '10.0.0.1', service: 'web', status: 'passing', weights: { Passing: 10, Warning: 2 } },
      { node: 'n2', address: '10.0.0.2', service: 'web', status: 'warning', weights: { Passing: 10, Warning: 2 } },
      { node: 'n3', address: '10.0.0.3', service: 'web', status: 'critical' },
      { node: 'n4', address: '10.0.0.4', service: 'down', status: 'critical' },
      { node: 'n4', address: '10.0.0.4', service: 'api-v2', status: 'passing' },
      ...Array.from({ length: 8 }, (_, i) => ({ node: `m${i}`, address: `10.1.0.${i}`, service: 'many' })),
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('leaves critical instances out and keeps warning ones, weighted by Weights.Warning', async () => {
    expect(datas((await q('web.service.consul', 'A')).answer)).toEqual(['10.0.0.1', '10.0.0.2']);
    const srv = await q('web.service.consul', 'SRV');
    expect(srv.answer.map((a) => a.data).sort()).toEqual(['1 10 8080 n1.node.dc1.consul.', '1 2 8080 n2.node.dc1.consul.']);
  });

  it('drops an instance as soon as it turns critical, and brings it back', async () => {
    expect(datas((await q('web.service.consul', 'A')).answer)).toContain('10.0.0.1');
    await h.setStatus('n1', 'web', 'critical');
    expect(datas((await q('web.service.consul', 'A')).answer)).toEqual(['10.0.0.2']);
    expect(datas((await q('web.service.consul', 'SRV')).answer)).toEqual(['1 2 8080 n2.node.dc1.consul.']);
    await h.setStatus('n1', 'web', 'passing');
    expect(datas((await q('web.service.consul', 'A')).answer)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('answers a newly registered service that was NXDOMAIN a moment ago', async () => {
    expect((await q('late.service.consul', 'A')).status).toBe('NXDOMAIN');
    await h.register({ node: 'n9', address: '10.0.0.9', service: 'late' });
    expect(datas((await q('late.service.consul', 'A')).answer)).toEqual(['10.0.0.9']);
    const s = h.dns.stats();
    expect(s.cacheHits + s.cacheMisses).toBeGreaterThan(0);
    expect(s.cacheInvalidations).toBeGreaterThan(0);
  });

  it('answers NXDOMAIN with the SOA (minimum 0) for an unknown service', async () => {
    const r = await q('nosuch.service.consul', 'A');
    expect(r.status).toBe('NXDOMAIN');
    expect(r.flags).toContain('aa');
    expect(r.answer).toEqual([]);
    expect(r.authority).toHaveLength(1);
    expect(r.authority[0]).toMatchObject({ type: 'SOA', name: 'consul.', ttl: 0 });
    expect(r.authority[0].data.split(' ').at(-1)).toBe('0');
  });

  it('answers NOERROR, no answers, SOA for a known service with none healthy', async () => {
    for (const type of ['A', 'SRV']) {
      const r = await q('down.service.consul', type);
      expect(r.status, type).toBe('NOERROR');
      expect(r.answer, type).toEqual([]);
      expect(r.authority[0], type).toMatchObject({ type: 'SOA', ttl: 0 });
    }
  });

  it('uses per-service TTL overrides, prefix overrides and the node TTL', async () => {
    expect((await q('web.service.consul', 'A')).answer[0].ttl).toBe(10);
    expect((await q('api-v2.service.consul', 'A')).answer[0].ttl).toBe(1);
    expect((await q('many.service.consul', 'A')).answer[0].ttl).toBe(5);
    expect((await q('n1.node.consul', 'A')).answer[0].ttl).toBe(30);
  });

  it('caps A answers at the A-record limit without truncating, and shuffles them', async () => {
    const seen = new Set<string>();
    const orders = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await q('many.service.consul', 'A');
      expect(r.answer).toHaveLength(3);
      expect(r.flags).not.toContain('tc');
      for (const a of r.answer) seen.add(a.data);
      orders.add(r.answer.map((a) => a.data).join(','));
    }
    // 12 random 3-of-8 picks: seeing at most 3 distinct addresses would mean no shuffle.
    expect(seen.size).toBeGreaterThan(3);
    expect(orders.size).toBeGreaterThan(1);
  });
});

describe('--dns-only-passing', () => {
  let h: DnsHarness;
  beforeAll(async () => {
    ensureDig();
    h = await startDnsHarness({ dnsOnlyPassing: true });
    await h.register(
      { node: 'n1', address: '10.0.0.1', service: 'web', status: 'passing' },
      { node: 'n2', address: '10.0.0.2', service: 'web', status: 'warning' },
      { node: 'n3', address: '10.0.0.3', service: 'web', status: 'critical' },
      { node: 'n4', address: '10.0.0.4', service: 'api', status: 'warning' },
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('drops warning instances too', async () => {
    expect(datas((await dig(h.port, ['web.service.consul', 'A'])).answer)).toEqual(['10.0.0.1']);
    const api = await dig(h.port, ['api.service.consul', 'A']);
    expect(api.status).toBe('NOERROR');
    expect(api.answer).toEqual([]);
    expect(api.authority[0]?.type).toBe('SOA');
  });
});
