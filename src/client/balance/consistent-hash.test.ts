import { describe, expect, it } from 'vitest';
import { makeInstances, seededRandom } from './balancer.test-suite.js';
import { createBalancer } from './index.js';
import type { BalancerInstance } from './types.js';

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function assign(set: readonly BalancerInstance[]): Map<string, string> {
  const lb = createBalancer('consistent-hash');
  return new Map(KEYS.map((k) => [k, lb.pick(set, { key: k })!.id]));
}

function moved(a: Map<string, string>, b: Map<string, string>): number {
  let n = 0;
  for (const [k, id] of a) if (b.get(k) !== id) n++;
  return n;
}

describe('consistent-hash', () => {
  it('sends the same key to the same instance, across balancers and set orders', () => {
    const set = makeInstances(8);
    const a = assign(set);
    const b = assign([...set].reverse());
    expect(moved(a, b)).toBe(0);
  });

  it('moves at most ~1/N of keys (bound 1.5/N) when one of N instances leaves, and only its keys', () => {
    const n = 10;
    const set = makeInstances(n);
    const before = assign(set);
    for (let gone = 0; gone < n; gone++) {
      const after = assign(set.filter((_, i) => i !== gone));
      const m = moved(before, after);
      expect(m / KEYS.length).toBeLessThanOrEqual(1.5 / n);
      let strayed = 0;
      for (const [k, id] of before) if (id !== `i${gone}` && after.get(k) !== id) strayed++;
      expect(strayed).toBe(0);
    }
  });

  it('moves at most ~1/(N+1) of keys (bound 1.5/(N+1)) when an instance joins, all to the newcomer', () => {
    const set = makeInstances(10);
    const before = assign(set);
    const after = assign(makeInstances(11));
    expect(moved(before, after) / KEYS.length).toBeLessThanOrEqual(1.5 / 11);
    let elsewhere = 0;
    for (const [k, id] of after) if (before.get(k) !== id && id !== 'i10') elsewhere++;
    expect(elsewhere).toBe(0);
  });

  it('spreads keys evenly enough (each instance within 0.5×..1.5× of its fair share)', () => {
    const n = 10;
    const counts = new Map<string, number>();
    for (const id of assign(makeInstances(n)).values()) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan((0.5 * KEYS.length) / n);
      expect(c).toBeLessThan((1.5 * KEYS.length) / n);
    }
  });

  it('picks at random when no key is given', () => {
    const lb = createBalancer('consistent-hash', { random: seededRandom(4) });
    const set = makeInstances(4);
    expect(new Set(Array.from({ length: 100 }, () => lb.pick(set)!.id)).size).toBe(4);
  });
});
