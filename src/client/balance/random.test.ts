import { describe, expect, it } from 'vitest';
import { countPicks, makeInstances, seededRandom } from './balancer.test-suite.js';
import { createBalancer } from './index.js';

describe('random', () => {
  it('is roughly uniform (chi-square below the 0.999 critical value)', () => {
    const n = 10;
    const picks = 50_000;
    const counts = countPicks(createBalancer('random', { random: seededRandom(42) }), makeInstances(n), picks);
    const expected = picks / n;
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(chi2 > 27.88) = 0.001.
    expect(chi2).toBeLessThan(27.88);
  });

  it('is uniform with the default random source too (loose bound)', () => {
    const counts = countPicks(createBalancer('random'), makeInstances(4), 40_000);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(800);
  });
});
