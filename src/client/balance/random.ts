import { NO_TRACKING, type Balancer, type BalancerInstance, type BalancerOptions } from './types.js';

/** Uniform random choice. */
export function randomChoice(opts: BalancerOptions = {}): Balancer {
  const random = opts.random ?? Math.random;
  return {
    strategy: 'random',
    pick<T extends BalancerInstance>(instances: readonly T[]): T | undefined {
      if (instances.length === 0) return undefined;
      return instances[Math.floor(random() * instances.length)];
    },
    start: () => NO_TRACKING,
  };
}
