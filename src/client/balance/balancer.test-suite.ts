/**
 * The one test body every balancing strategy runs , plus small helpers
 * the per-strategy property tests share. Not shipped (tsconfig.build excludes *.test-suite.ts).
 */
import { describe, expect, it } from 'vitest';
import { createBalancer } from './index.js';
import type { BalancerInstance, BalancerOptions, StrategyName } from './types.js';

import { seededRandom } from '../../../test/helpers/prng.js';

export { seededRandom };

/** `n` instances named i0..i(n-1) on 10.0.0.x:8080. */
export function makeInstances(n: number, weight?: (i: number) => number): BalancerInstance[] {
  return Array.from({ length: n }, (_, i) => ({ id: `i${i}`, address: `10.0.0.${i + 1}`, port: 8080, ...(weight ? { weight: weight(i) } : {}) }));
}

/** Picks `count` times (ending each call at once with `latencyMs`) and counts picks per id. */
export function countPicks(
  lb: ReturnType<typeof createBalancer>,
  instances: readonly BalancerInstance[],
  count: number,
  key?: (i: number) => string,
): Map<string, number> {
  const counts = new Map<string, number>(instances.map((inst) => [inst.id, 0]));
  for (let i = 0; i < count; i++) {
    const inst = lb.pick(instances, key ? { key: key(i) } : undefined)!;
    lb.start(inst)({ latencyMs: 1 });
    counts.set(inst.id, (counts.get(inst.id) ?? 0) + 1);
  }
  return counts;
}

/** Properties every strategy must have, whatever it optimises for. */
export function balancerContract(strategy: StrategyName, extra: BalancerOptions = {}): void {
  const make = (seed = 1) => createBalancer(strategy, { random: seededRandom(seed), ...extra });
  const keyed = (i: number) => ({ key: `k${i}` });

  describe(`balancer contract: ${strategy}`, () => {
    it('names its strategy', () => {
      expect(make().strategy).toBe(strategy);
    });

    it('returns undefined for an empty set', () => {
      expect(make().pick([])).toBeUndefined();
      expect(make().pick([], { key: 'x' })).toBeUndefined();
    });

    it('returns the only instance of a one-instance set, as the same object', () => {
      const [only] = makeInstances(1);
      const lb = make();
      for (let i = 0; i < 5; i++) expect(lb.pick([only], keyed(i))).toBe(only);
    });

    it('always returns a member of the set given, as the same object', () => {
      const lb = make();
      const set = makeInstances(7);
      for (let i = 0; i < 500; i++) expect(set).toContain(lb.pick(set, keyed(i)));
    });

    it('follows the set when instances leave and join', () => {
      const lb = make();
      const set = makeInstances(6);
      for (let i = 0; i < 50; i++) lb.start(lb.pick(set, keyed(i))!)({ latencyMs: 2 });
      const smaller = set.slice(0, 3);
      for (let i = 0; i < 300; i++) expect(smaller).toContain(lb.pick(smaller, keyed(i)));
      const other = makeInstances(9).slice(6);
      for (let i = 0; i < 300; i++) expect(other).toContain(lb.pick(other, keyed(i)));
    });

    it('sends some traffic to every instance of equal standing', () => {
      const set = makeInstances(5);
      const counts = countPicks(make(3), set, 2_000, (i) => `key-${i}`);
      for (const [, n] of counts) expect(n).toBeGreaterThan(0);
    });

    it('tolerates call tracking: ends are idempotent and outcomes of any kind are accepted', () => {
      const lb = make();
      const set = makeInstances(3);
      const inst = lb.pick(set)!;
      const end = lb.start(inst);
      end({ latencyMs: 5 });
      end({ latencyMs: 5 });
      lb.start(inst)({ failed: true });
      lb.start(inst)();
      lb.start({ id: 'not-in-set', address: '10.9.9.9', port: 1 })({ latencyMs: Number.NaN });
      expect(set).toContain(lb.pick(set));
    });

    it('does not modify the set it is given', () => {
      const set = Object.freeze(makeInstances(4).map((i) => Object.freeze(i)));
      const lb = make();
      for (let i = 0; i < 20; i++) lb.start(lb.pick(set, keyed(i))!)({ latencyMs: i });
      expect(set.map((i) => i.id)).toEqual(['i0', 'i1', 'i2', 'i3']);
    });
  });
}
