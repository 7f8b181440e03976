import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { clientPrefix, ResponseRateLimiter, slipAnswer, Verdict } from './rate-limit.js';

describe('DNS response rate limiting', () => {
  it('counts IPv4 by /24 and IPv6 by /56, IPv4-mapped addresses as IPv4', () => {
    expect(clientPrefix('192.0.2.1')).toBe(clientPrefix('192.0.2.254'));
    expect(clientPrefix('192.0.2.1')).not.toBe(clientPrefix('192.0.3.1'));
    expect(clientPrefix('::ffff:192.0.2.7')).toBe(clientPrefix('192.0.2.9'));
    expect(clientPrefix('2001:db8:1:2ff::1')).toBe(clientPrefix('2001:db8:1:200::ffff'));
    expect(clientPrefix('2001:db8:1:2ff::1')).not.toBe(clientPrefix('2001:db8:1:300::1'));
    expect(clientPrefix('2001:0db8:0001:0200:0:0:0:1')).toBe(clientPrefix('2001:db8:1:2aa::'));
    expect(clientPrefix('::1')).toBe('0000:0000:0000:00');
  });

  it('sends up to the rate, then slips every n-th answer and drops the rest; credit comes back with time', () => {
    let now = 1_000_000;
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 10, slip: 2 }, () => now);
    const verdicts = Array.from({ length: 20 }, () => rrl.verdict('198.51.100.7'));
    expect(verdicts.slice(0, 10).every((v) => v === Verdict.Send)).toBe(true);
    expect(verdicts.slice(10)).toEqual([2, 1, 2, 1, 2, 1, 2, 1, 2, 1]);
    expect(rrl.dropped).toBe(5);
    expect(rrl.slipped).toBe(5);
    // Another prefix is not held back by the first.
    expect(rrl.verdict('198.51.101.7')).toBe(Verdict.Send);
    // Half a second later, half the credit is back.
    now += 500;
    const after = Array.from({ length: 6 }, () => rrl.verdict('198.51.100.8'));
    expect(after.filter((v) => v === Verdict.Send)).toHaveLength(5);
  });

  it('slip 0 drops everything over the rate; slip 1 truncates everything; rate 0 is off', () => {
    const drop = new ResponseRateLimiter({ responsesPerSecond: 1, slip: 0 }, () => 0);
    expect([drop.verdict('10.0.0.1'), drop.verdict('10.0.0.1'), drop.verdict('10.0.0.1')]).toEqual([0, 2, 2]);
    const slip = new ResponseRateLimiter({ responsesPerSecond: 1, slip: 1 }, () => 0);
    expect([slip.verdict('10.0.0.1'), slip.verdict('10.0.0.1'), slip.verdict('10.0.0.1')]).toEqual([0, 1, 1]);
    const off = new ResponseRateLimiter({ responsesPerSecond: 0, slip: 2 }, () => 0);
    expect(off.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect(off.verdict('10.0.0.1')).toBe(Verdict.Send);
    expect(off.tracked).toBe(0);
  });

  it('tracks a bounded number of prefixes, forgetting the oldest', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 2, maxPrefixes: 100 }, () => 0);
    for (let i = 0; i < 1000; i++) rrl.verdict(`10.${i >> 8}.${i & 255}.1`);
    expect(rrl.tracked).toBe(100);
  });

  it('a slipped answer echoes the question with TC set and carries no records', () => {
    const q = dnsPacket.encode({
      type: 'query',
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'SRV', name: 'web.service.consul', class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer],
    });
    const out = slipAnswer(q, false);
    expect(out).toBeDefined();
    const r = dnsPacket.decode(out!);
    expect(r.id).toBe(4242);
    expect(r.type).toBe('response');
    expect(r.flag_tc).toBe(true);
    expect((r as { rcode?: string }).rcode).toBe('NOERROR');
    expect(r.questions).toEqual([{ type: 'SRV', name: 'web.service.consul', class: 'IN' }]);
    expect(r.answers).toEqual([]);
    expect(out!.length).toBeLessThanOrEqual(q.length);
    expect(slipAnswer(Buffer.from([1, 2, 3]), false)).toBeUndefined();
  });
});
