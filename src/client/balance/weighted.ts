import { NO_TRACKING, type Balancer, type BalancerInstance, type BalancerOptions } from './types.js';

/** Effective weight of an instance: its `weight` (default 1), never negative. */
export function weightOf(inst: BalancerInstance): number {
  const w = inst.weight ?? 1;
  return Number.isFinite(w) && w > 0 ? w : 0;
}

/**
 * Weighted random: each instance is chosen with probability weight / total weight. Weights come
 * from Consul's `Weights` (`Passing` for passing instances, `Warning` for those in warning).
 * Instances of weight 0 get traffic only when every instance has weight 0.
 */
export function weighted(opts: BalancerOptions = {}): Balancer {
  const random = opts.random ?? Math.random;
  let cachedFor: readonly BalancerInstance[] | undefined;
  let cumulative: number[] = [];
  return {
    strategy: 'weighted',
    pick<T extends BalancerInstance>(instances: readonly T[]): T | undefined {
      if (instances.length === 0) return undefined;
      if (cachedFor !== instances || cumulative.length !== instances.length) {
        cumulative = [];
        let sum = 0;
        for (const inst of instances) cumulative.push((sum += weightOf(inst)));
        cachedFor = instances;
      }
      const total = cumulative[cumulative.length - 1];
      if (total === 0) return instances[Math.floor(random() * instances.length)];
      const target = random() * total;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] > target) hi = mid;
        else lo = mid + 1;
      }
      return instances[lo];
    },
    start: () => NO_TRACKING,
  };
}
