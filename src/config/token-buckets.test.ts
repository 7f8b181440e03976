import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './token-buckets.js';

describe('TokenBuckets', () => {
  it('gives each key one second of credit, says how long until the next token, and refills with time', () => {
    let now = 0;
    const b = new TokenBuckets(4, 10, () => now);
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0, 0]);
    expect(b.take('a')).toBe(250);
    expect(b.take('b')).toBe(0);
    now += 500;
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 250]);
  });

  it('is off at rate 0 and bounds the keys it tracks', () => {
    const off = new TokenBuckets(0);
    for (let i = 0; i < 10; i++) expect(off.take('x')).toBe(0);
    const b = new TokenBuckets(1, 3, () => 0);
    for (const k of ['a', 'b', 'c', 'd', 'e']) b.take(k);
    expect(b.size).toBe(3);
  });
});
