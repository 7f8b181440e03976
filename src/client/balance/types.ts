/**
 * The generic instance shape every balancing strategy works on. The SDK's discovered
 * instances fit it, and so does anything the server has at hand (the pick route).
 */
export interface BalancerInstance {
  /** Unique within the set being balanced. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  /** Relative weight for the `weighted` strategy (default 1; 0 means "only if nothing else"). */
  readonly weight?: number;
}

/** Names of the built-in strategies. `p2c-ewma` is the default. */
export type StrategyName = 'round-robin' | 'random' | 'least-in-flight' | 'consistent-hash' | 'weighted' | 'p2c-ewma';

/** All strategy names, in a stable order (for validating `?strategy=` and for tests). */
export const STRATEGIES: readonly StrategyName[] = Object.freeze(['round-robin', 'random', 'least-in-flight', 'consistent-hash', 'weighted', 'p2c-ewma']);

/** Per-pick input. */
export interface PickContext {
  /** Hash key for `consistent-hash` (client IP, user id, any string). Other strategies ignore it. */
  readonly key?: string;
}

/** How a call to a picked instance ended. */
export interface CallOutcome {
  /** Time to response headers (or to failure), in ms. */
  readonly latencyMs?: number;
  /** True when the call failed (connection error, timeout, 5xx). */
  readonly failed?: boolean;
}

/** Ends one tracked call; calling it more than once has no further effect. */
export type EndCall = (outcome?: CallOutcome) => void;

/**
 * One load-balancing strategy. A balancer keeps only soft state (rotation counter, in-flight
 * counts, latency averages, hash ring) keyed by instance id, so the same balancer can be given a
 * different set on every pick.
 *
 * @example
 * const lb = createBalancer('round-robin');
 * const inst = lb.pick(instances);
 * const end = lb.start(inst!);
 * try { await call(inst); end({ latencyMs: 12 }); } catch { end({ failed: true }); }
 */
export interface Balancer {
  readonly strategy: StrategyName;
  /** Chooses one of `instances` (the same object), or undefined when the set is empty. */
  pick<T extends BalancerInstance>(instances: readonly T[], ctx?: PickContext): T | undefined;
  /** Tells the balancer a call to `instance` starts; call the returned function when it ends. */
  start(instance: BalancerInstance): EndCall;
}

/** Options shared by all strategies; each uses the ones that concern it. */
export interface BalancerOptions {
  /** Random source in [0, 1) (tests pass a seeded one). Default Math.random. */
  readonly random?: () => number;
  /** Clock in ms (tests pass a fake one). Default performance.now. */
  readonly now?: () => number;
  /** consistent-hash: points per instance on the ring. Default 160. */
  readonly virtualNodes?: number;
  /** p2c-ewma: decay time constant of the latency average, in ms. Default 10 000. */
  readonly decayMs?: number;
  /** p2c-ewma: latency sample recorded for a failed call, in ms. Default 1 000. */
  readonly failurePenaltyMs?: number;
}

/** A call-tracking function for strategies that track nothing. */
export const NO_TRACKING: EndCall = () => {};
