import { errorText, type ClientLogger } from '../logger.js';
import { diffInstances, isEmptyChange } from './diff.js';
import type { ServiceChange, ServiceInstance, ServiceQuery, ServiceSnapshot, WatchListener } from './types.js';

/**
 * The cached state of one discovery query: the last known set, its freshness, and the
 * listeners watching it. A discovery backend feeds it with {@link ServiceFeed.update} (a fresh
 * answer) and {@link ServiceFeed.fail} (a refresh failed); the feed never drops its set on failure.
 */
export class ServiceFeed {
  readonly query: ServiceQuery;
  readonly controller = new AbortController();
  #instances: readonly ServiceInstance[] = [];
  #loaded = false;
  #stale = false;
  #error: Error | undefined;
  #index: number | undefined;
  #updatedAt = 0;
  #confirmedAt = 0;
  #listeners = new Set<WatchListener>();
  /** The snapshot object for the current state (ageMs is read live), rebuilt on every change. */
  #snapshot: ServiceSnapshot | undefined;
  #waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  readonly #now: () => number;
  readonly #log: ClientLogger;

  constructor(query: ServiceQuery, log: ClientLogger, now: () => number = () => performance.now()) {
    this.query = query;
    this.#log = log;
    this.#now = now;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  get stale(): boolean {
    return this.#stale;
  }

  /** A fresh answer from the source. Notifies listeners of any difference. */
  update(instances: readonly ServiceInstance[], index?: number): void {
    const before = this.#instances;
    const first = !this.#loaded;
    this.#instances = Object.freeze([...instances]);
    this.#loaded = true;
    this.#index = index;
    this.#updatedAt = Date.now();
    this.#confirmedAt = this.#now();
    if (this.#stale) this.#log('info', 'service discovery recovered', { service: this.query.name, instances: instances.length });
    this.#stale = false;
    this.#error = undefined;
    this.#snapshot = undefined;
    for (const w of this.#waiters.splice(0)) w.resolve();
    const change = diffInstances(this.query.name, before, this.#instances);
    if (first || !isEmptyChange(change)) this.#emit(change);
  }

  /** A refresh failed. Keeps the set (marked stale); wakes first-time waiters with the error. */
  fail(err: Error): void {
    if (this.#loaded && !this.#stale) {
      this.#log('warn', 'service discovery unavailable, serving the last known set', {
        service: this.query.name,
        instances: this.#instances.length,
        error: errorText(err),
      });
    }
    this.#stale = true;
    this.#error = err;
    this.#snapshot = undefined;
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  /** The current state, or undefined before the first answer. Allocates only when the state changed. */
  snapshot(): ServiceSnapshot | undefined {
    if (!this.#loaded) return undefined;
    if (this.#snapshot) return this.#snapshot;
    const confirmedAt = this.#confirmedAt;
    const now = this.#now;
    this.#snapshot = Object.freeze({
      service: this.query.name,
      instances: this.#instances,
      stale: this.#stale,
      get ageMs() {
        return Math.max(0, now() - confirmedAt);
      },
      updatedAt: this.#updatedAt,
      error: this.#error,
      index: this.#index,
    });
    return this.#snapshot;
  }

  /**
   * Resolves with the snapshot once the feed has an answer. Before the first answer: rejects
   * at once if the last attempt failed, otherwise waits for the first attempt to end.
   */
  whenReady(): Promise<ServiceSnapshot> {
    const snap = this.snapshot();
    if (snap) return Promise.resolve(snap);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject })).then(() => this.snapshot()!);
  }

  /** Adds a listener; it first gets every known instance as "added" (once the feed is loaded). */
  subscribe(listener: WatchListener): () => void {
    this.#listeners.add(listener);
    if (this.#loaded) {
      const initial = diffInstances(this.query.name, [], this.#instances);
      queueMicrotask(() => {
        if (this.#listeners.has(listener)) this.#call(listener, initial);
      });
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Stops the feed's refresh loop and rejects anyone still waiting for a first answer. */
  close(err: Error): void {
    this.controller.abort(err);
    this.#listeners.clear();
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  #emit(change: ServiceChange): void {
    for (const l of [...this.#listeners]) this.#call(l, change);
  }

  #call(listener: WatchListener, change: ServiceChange): void {
    try {
      listener(change);
    } catch (err) {
      this.#log('error', 'watch listener threw', { service: this.query.name, error: errorText(err) });
    }
  }
}
