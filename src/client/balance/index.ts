/**
 * Load balancing over a set of instances, one {@link Balancer} interface for every strategy.
 * Independent of the SDK's HTTP client: the server's pick route uses it too.
 */
import { consistentHash } from './consistent-hash.js';
import { leastInFlight } from './least-in-flight.js';
import { p2cEwma } from './p2c-ewma.js';
import { randomChoice } from './random.js';
import { roundRobin } from './round-robin.js';
import { STRATEGIES, type Balancer, type BalancerOptions, type StrategyName } from './types.js';
import { weighted } from './weighted.js';
import { invalidOption } from '../client-error.js';
import { knownKeys, numberOption } from '../validate.js';

export {
  STRATEGIES,
  type Balancer,
  type BalancerInstance,
  type BalancerOptions,
  type CallOutcome,
  type EndCall,
  type PickContext,
  type StrategyName,
} from './types.js';
export { weightOf } from './weighted.js';
export { hash32 } from './hash.js';

const FACTORIES: Record<StrategyName, (opts: BalancerOptions) => Balancer> = {
  'round-robin': roundRobin,
  random: randomChoice,
  'least-in-flight': leastInFlight,
  'consistent-hash': consistentHash,
  weighted,
  'p2c-ewma': p2cEwma,
};

/** The strategy used when none is named. */
export const DEFAULT_STRATEGY: StrategyName = 'p2c-ewma';

/** True when `name` is one of {@link STRATEGIES}. */
export function isStrategyName(name: unknown): name is StrategyName {
  return typeof name === 'string' && (STRATEGIES as readonly string[]).includes(name);
}

/**
 * Creates a balancer for `strategy` (default `p2c-ewma`). Pure: no I/O, no timers. Keep one
 * balancer per service (its state — rotation, in-flight counts, latencies — is what makes the
 * stateful strategies work) and give it the current set on each pick.
 *
 * Throws `BEACON_ERR_VALIDATION` for an unknown strategy name, an unknown option or one out of range.
 *
 * @example
 * import { createBalancer } from 'beacon/client';
 * const lb = createBalancer('consistent-hash');
 * const inst = lb.pick([{ id: 'a', address: '10.0.0.1', port: 80 }, { id: 'b', address: '10.0.0.2', port: 80 }], { key: 'user-42' });
 */
export function createBalancer(strategy: StrategyName = DEFAULT_STRATEGY, options: BalancerOptions = {}): Balancer {
  if (!isStrategyName(strategy)) {
    throw invalidOption(`Unknown balancing strategy ${JSON.stringify(strategy)}; use one of ${STRATEGIES.join(', ')}`);
  }
  const o = knownKeys(options, ['random', 'now', 'virtualNodes', 'decayMs', 'failurePenaltyMs'], 'createBalancer options');
  for (const f of ['random', 'now'] as const)
    if (o[f] !== undefined && typeof o[f] !== 'function') throw invalidOption(`createBalancer options: ${f} must be a function`);
  numberOption(o.virtualNodes, 'createBalancer options: virtualNodes', 160, { min: 1, max: 10_000, integer: true });
  numberOption(o.decayMs, 'createBalancer options: decayMs', 10_000, { min: 1, unit: ' ms' });
  numberOption(o.failurePenaltyMs, 'createBalancer options: failurePenaltyMs', 1_000, { min: 0, unit: ' ms' });
  return FACTORIES[strategy](options);
}
