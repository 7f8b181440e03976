import type { BalancerInstance, EndCall } from './types.js';

/**
 * Counts calls in flight per instance id. Entries for ids that left the set are dropped once
 * they reach zero, so the map stays as big as the set.
 */
export class InFlightCounter {
  readonly #counts = new Map<string, number>();

  get(id: string): number {
    return this.#counts.get(id) ?? 0;
  }

  /** Counts one call to `instance`; the returned function (idempotent) uncounts it. */
  start(instance: BalancerInstance, onEnd?: EndCall): EndCall {
    const id = instance.id;
    this.#counts.set(id, this.get(id) + 1);
    let ended = false;
    return (outcome) => {
      if (ended) return;
      ended = true;
      const left = this.get(id) - 1;
      if (left <= 0) this.#counts.delete(id);
      else this.#counts.set(id, left);
      onEnd?.(outcome);
    };
  }
}
