import { describe, expect, it } from 'vitest';
import { countPicks, makeInstances, seededRandom } from './balancer.test-suite.js';
import { createBalancer, weightOf } from './index.js';

describe('weighted', () => {
  it('sends traffic in proportion to weight (within 1.5 percentage points)', () => {
    const weights = [1, 2, 7];
    const set = makeInstances(3, (i) => weights[i]);
    const picks = 60_000;
    const counts = countPicks(createBalancer('weighted', { random: seededRandom(7) }), set, picks);
    weights.forEach((w, i) => expect(Math.abs(counts.get(`i${i}`)! / picks - w / 10)).toBeLessThan(0.015));
  });

  it('gives weight-0 instances nothing while others have weight', () => {
    const set = makeInstances(3, (i) => (i === 1 ? 0 : 5));
    const counts = countPicks(createBalancer('weighted', { random: seededRandom(8) }), set, 5_000);
    expect(counts.get('i1')).toBe(0);
  });

  it('falls back to uniform when every weight is 0', () => {
    const set = makeInstances(3, () => 0);
    const counts = countPicks(createBalancer('weighted', { random: seededRandom(9) }), set, 3_000);
    for (const c of counts.values()) expect(c).toBeGreaterThan(800);
  });

  it('treats a missing weight as 1 and a negative or non-finite one as 0', () => {
    expect(weightOf({ id: 'a', address: 'x', port: 1 })).toBe(1);
    expect(weightOf({ id: 'a', address: 'x', port: 1, weight: -3 })).toBe(0);
    expect(weightOf({ id: 'a', address: 'x', port: 1, weight: Number.NaN })).toBe(0);
    expect(weightOf({ id: 'a', address: 'x', port: 1, weight: 3 })).toBe(3);
  });

  it('picks up new weights when it is given a new set', () => {
    const lb = createBalancer('weighted', { random: seededRandom(10) });
    const first = makeInstances(2, (i) => (i === 0 ? 1 : 0));
    expect(countPicks(lb, first, 200).get('i1')).toBe(0);
    const second = makeInstances(2, (i) => (i === 0 ? 0 : 1));
    expect(countPicks(lb, second, 200).get('i0')).toBe(0);
  });
});
