import { InFlightCounter } from './in-flight.js';
import type { Balancer, BalancerInstance, BalancerOptions } from './types.js';

/**
 * Least in-flight requests: the instance with the fewest calls this balancer has started and
 * not yet ended. Ties are broken at random so equal instances share the load.
 */
export function leastInFlight(opts: BalancerOptions = {}): Balancer {
  const random = opts.random ?? Math.random;
  const inFlight = new InFlightCounter();
  return {
    strategy: 'least-in-flight',
    pick<T extends BalancerInstance>(instances: readonly T[]): T | undefined {
      inFlight.prune(instances);
      let best: T | undefined;
      let bestCount = Infinity;
      let ties = 0;
      for (const inst of instances) {
        const n = inFlight.get(inst.id);
        if (n < bestCount) {
          best = inst;
          bestCount = n;
          ties = 1;
        } else if (n === bestCount) {
          // Reservoir sampling over the tied minimum: each tied instance is equally likely.
          ties += 1;
          if (random() * ties < 1) best = inst;
        }
      }
      return best;
    },
    start: (instance) => inFlight.start(instance),
  };
}
