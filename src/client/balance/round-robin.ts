import { NO_TRACKING, type Balancer, type BalancerInstance, type BalancerOptions } from './types.js';

/**
 * Round robin: instance i, then i+1, … over the set as given. The starting point is random so
 * that many clients started together do not all hit the first instance first.
 */
export function roundRobin(opts: BalancerOptions = {}): Balancer {
  let next = Math.floor((opts.random ?? Math.random)() * 1_000_003);
  return {
    strategy: 'round-robin',
    pick<T extends BalancerInstance>(instances: readonly T[]): T | undefined {
      if (instances.length === 0) return undefined;
      const i = next % instances.length;
      next = (next + 1) % Number.MAX_SAFE_INTEGER;
      return instances[i];
    },
    start: () => NO_TRACKING,
  };
}
