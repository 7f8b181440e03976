import { describe, expect, it } from 'vitest';
import { toGoDuration, toMs } from './duration.js';

describe('durations', () => {
  it('parses Go duration strings and passes numbers through', () => {
    expect(toMs('10s', 'x')).toBe(10_000);
    expect(toMs('1m30s', 'x')).toBe(90_000);
    expect(toMs('250ms', 'x')).toBe(250);
    expect(toMs('1.5h', 'x')).toBe(5_400_000);
    expect(toMs('1500us', 'x')).toBe(1.5);
    expect(toMs('0', 'x')).toBe(0);
    expect(toMs(42, 'x')).toBe(42);
  });

  it('rejects what is not a duration, naming the field', () => {
    for (const bad of ['', '10', 's', '10 s', '10x', '-1s']) expect(() => toMs(bad, 'check.ttl')).toThrow(/check\.ttl/);
    expect(() => toMs(-1, 'check.ttl')).toThrow(/check\.ttl/);
    expect(() => toMs(Number.NaN, 'check.ttl')).toThrow(/check\.ttl/);
  });

  it('formats milliseconds as Go durations', () => {
    expect(toGoDuration(15_000)).toBe('15000ms');
    expect(toGoDuration(0.4)).toBe('0ms');
  });
});
