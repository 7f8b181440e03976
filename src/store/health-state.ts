import type { StoreHealth } from './health.js';
import type { StoreLogger } from './logger.js';

/** Equal jitter: somewhere in [ms/2, ms). */
export function jittered(ms: number): number {
  return ms / 2 + Math.random() * (ms / 2);
}

/**
 * A store driver's {@link StoreHealth} and its listeners: each driver decides when it is
 * writable (a commit, an answer from etcd) and sets it here; listeners hear of every change of
 * `writable`, not of a new `lastError` alone.
 */
export class HealthState {
  private state: StoreHealth = Object.freeze({ writable: true, since: Date.now() });
  private readonly listeners = new Set<(h: StoreHealth) => void>();

  constructor(private readonly logger: StoreLogger) {}

  get current(): StoreHealth {
    return this.state;
  }

  onChange(listener: (h: StoreHealth) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(next: StoreHealth): void {
    const changed = next.writable !== this.state.writable;
    this.state = Object.freeze(next.lastError === undefined ? { writable: next.writable, since: next.since } : next);
    if (!changed) return;
    for (const l of [...this.listeners]) {
      try {
        l(this.state);
      } catch (err) {
        this.logger.warn({ err }, 'a store health listener threw');
      }
    }
  }
}
