import { InFlightCounter } from './in-flight.js';
import type { Balancer, BalancerInstance, BalancerOptions } from './types.js';

/** Cost of an instance with no latency history but calls in flight (Finagle's "penalty"). */
const UNPROBED_PENALTY = 2 ** 40;

interface Ewma {
  value: number;
  at: number;
}

/**
 * Power of two choices on a peak-sensitive latency EWMA (the default strategy): pick two distinct
 * instances at random and send to the cheaper, where cost = decayed latency average × (calls in
 * flight + 1). A slow response raises the average at once (peak), a fast one lowers it smoothly,
 * and an idle instance's average decays toward 0 so that it is probed again after it recovers.
 * Failed calls count as `failurePenaltyMs` of latency.
 */
export function p2cEwma(opts: BalancerOptions = {}): Balancer {
  const random = opts.random ?? Math.random;
  const now = opts.now ?? (() => performance.now());
  const decayMs = Math.max(1, opts.decayMs ?? 10_000);
  const penaltyMs = Math.max(0, opts.failurePenaltyMs ?? 1_000);
  const inFlight = new InFlightCounter();
  const ewma = new Map<string, Ewma>();

  function decayed(id: string, t: number): number {
    const e = ewma.get(id);
    if (!e) return 0;
    return e.value * Math.exp(-Math.max(0, t - e.at) / decayMs);
  }

  function cost(id: string, t: number): number {
    const pending = inFlight.get(id);
    const latency = decayed(id, t);
    if (latency === 0 && pending > 0) return UNPROBED_PENALTY + pending;
    return latency * (pending + 1);
  }

  function observe(id: string, sample: number): void {
    const t = now();
    const e = ewma.get(id);
    if (!e) {
      ewma.set(id, { value: sample, at: t });
      return;
    }
    const current = decayed(id, t);
    const w = Math.exp(-Math.max(0, t - e.at) / decayMs);
    e.value = sample > current ? sample : current * w + sample * (1 - w);
    e.at = t;
  }

  let pruneAt = 64;
  function prune(instances: readonly BalancerInstance[]): void {
    if (ewma.size <= pruneAt) return;
    const live = new Set(instances.map((i) => i.id));
    for (const id of ewma.keys()) if (!live.has(id)) ewma.delete(id);
    pruneAt = Math.max(64, ewma.size * 2);
    inFlight.prune(instances);
  }

  return {
    strategy: 'p2c-ewma',
    pick<T extends BalancerInstance>(instances: readonly T[]): T | undefined {
      const n = instances.length;
      if (n <= 1) return instances[0];
      prune(instances);
      const i = Math.floor(random() * n);
      let j = Math.floor(random() * (n - 1));
      if (j >= i) j += 1;
      const a = instances[i];
      const b = instances[j];
      const t = now();
      const ca = cost(a.id, t);
      const cb = cost(b.id, t);
      if (ca === cb) return random() < 0.5 ? a : b;
      return ca < cb ? a : b;
    },
    start(instance) {
      const id = instance.id;
      return inFlight.start(instance, (outcome) => {
        if (outcome?.failed) observe(id, Math.max(penaltyMs, outcome.latencyMs ?? 0));
        else if (outcome?.latencyMs !== undefined && Number.isFinite(outcome.latencyMs)) observe(id, Math.max(0, outcome.latencyMs));
      });
    },
  };
}
