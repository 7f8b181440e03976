import type { BalancerInstance, EndCall } from './types.js';

/**
 * Counts calls in flight per instance id. Counters stay allocated while their count drops to
 * zero (no map churn on the hot path); ids that left the set are pruned once the map has grown
 * to twice the set.
 */
export class InFlightCounter {
  readonly #counts = new Map<string, { n: number }>();
  #pruneAt = 64;

  get(id: string): number {
    return this.#counts.get(id)?.n ?? 0;
  }

  /** Counts one call to `instance`; the returned function (idempotent) uncounts it. */
  start(instance: BalancerInstance, onEnd?: EndCall): EndCall {
    let slot = this.#counts.get(instance.id);
    if (!slot) {
      slot = { n: 0 };
      this.#counts.set(instance.id, slot);
    }
    const counter = slot;
    counter.n += 1;
    let ended = false;
    return (outcome) => {
      if (ended) return;
      ended = true;
      counter.n -= 1;
      onEnd?.(outcome);
    };
  }

  /** Drops idle counters of ids not in `instances`, when the map has grown large. */
  prune(instances: readonly BalancerInstance[]): void {
    if (this.#counts.size <= this.#pruneAt) return;
    const live = new Set(instances.map((i) => i.id));
    for (const [id, c] of this.#counts) if (c.n === 0 && !live.has(id)) this.#counts.delete(id);
    this.#pruneAt = Math.max(64, this.#counts.size * 2);
  }
}
