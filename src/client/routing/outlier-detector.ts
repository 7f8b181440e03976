import { jitter } from '../backoff.js';
import type { ClientLogger } from '../logger.js';

/** Settings of passive health checking (outlier ejection). */
export interface OutlierOptions {
  /** Failed calls in a row that eject an instance. Default 3. */
  readonly consecutiveFailures?: number;
  /** Cool-down of a first ejection, in ms; doubles on each repeat. Default 10 000. */
  readonly baseEjectionMs?: number;
  /** Longest cool-down, in ms. Default 300 000. */
  readonly maxEjectionMs?: number;
  /** Largest share of a set that may be ejected at once (capped at 0.5). Default 0.5. */
  readonly maxEjectedFraction?: number;
}

interface OutlierState {
  failures: number;
  /** Ejected until this time (0 when not ejected). */
  until: number;
  /** Ejections in the current streak (drives the growing cool-down). */
  streak: number;
  /** Length of the last cool-down, and when the instance came back from it. */
  lastCooldown: number;
  returnedAt: number;
}

/**
 * Passive health: ejects an instance from this client's picks after `consecutiveFailures`
 * failed calls (connection refused, timeout, 5xx) for a cool-down of base × 2^(streak-1)
 * (±10 % jitter, capped), after which it returns by itself. A streak is forgotten once the
 * instance has stayed in service twice as long as its last cool-down. Never more than
 * `maxEjectedFraction` (at most half) of the set is ejected: a failure that would exceed it does
 * not eject, and if the set shrinks the instances due back soonest are let back first.
 */
export class OutlierDetector {
  readonly #state = new Map<string, OutlierState>();
  readonly #failuresToEject: number;
  readonly #base: number;
  readonly #max: number;
  readonly #fraction: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #log: ClientLogger;
  readonly #service: string;
  #version = 0;
  #nextExpiry = Infinity;

  constructor(service: string, opts: OutlierOptions, log: ClientLogger, now: () => number = () => performance.now(), random: () => number = Math.random) {
    this.#service = service;
    this.#failuresToEject = Math.max(1, Math.floor(opts.consecutiveFailures ?? 3));
    this.#base = Math.max(1, opts.baseEjectionMs ?? 10_000);
    this.#max = Math.max(this.#base, opts.maxEjectionMs ?? 300_000);
    this.#fraction = Math.min(0.5, Math.max(0, opts.maxEjectedFraction ?? 0.5));
    this.#now = now;
    this.#random = random;
    this.#log = log;
  }

  /** A call to `id` succeeded. */
  recordSuccess(id: string): void {
    const s = this.#state.get(id);
    if (s) s.failures = 0;
  }

  /**
   * A call to `id` failed; `setIds` is the current set. Returns true when this failure ejected it.
   */
  recordFailure(id: string, setIds: readonly string[]): boolean {
    const t = this.#now();
    this.#expire(t);
    let s = this.#state.get(id);
    if (!s) {
      s = { failures: 0, until: 0, streak: 0, lastCooldown: 0, returnedAt: 0 };
      this.#state.set(id, s);
    }
    if (s.until > t) return false;
    s.failures += 1;
    if (s.failures < this.#failuresToEject) return false;
    const allowed = Math.floor(setIds.length * this.#fraction);
    const ejectedNow = setIds.reduce((n, other) => n + (this.#isEjected(other, t) ? 1 : 0), 0);
    if (ejectedNow + 1 > allowed) {
      this.#log('debug', 'instance failing but not ejected: too many ejected already', { service: this.#service, id, ejected: ejectedNow, of: setIds.length });
      return false;
    }
    if (s.streak > 0 && t - s.returnedAt > 2 * s.lastCooldown) s.streak = 0;
    s.streak += 1;
    const cooldown = Math.min(this.#max, jitter(this.#base * 2 ** Math.min(s.streak - 1, 30), 0.1, this.#random));
    s.until = t + cooldown;
    s.lastCooldown = cooldown;
    s.failures = 0;
    this.#nextExpiry = Math.min(this.#nextExpiry, s.until);
    this.#version += 1;
    this.#log('warn', 'instance ejected after failed calls', { service: this.#service, id, cooldownMs: Math.round(cooldown), streak: s.streak });
    return true;
  }

  /**
   * A number that changes whenever the ejected set may have changed (returns due by now are
   * applied first), so callers can cache what they derive from it.
   */
  get version(): number {
    if (this.#nextExpiry !== Infinity) this.#expire(this.#now());
    return this.#version;
  }

  /** True when `id` is ejected right now. */
  isEjected(id: string): boolean {
    const t = this.#now();
    this.#expire(t);
    return this.#isEjected(id, t);
  }

  /**
   * The instances of `set` that may be picked: all but the ejected ones, letting back the ones
   * due soonest if more than the allowed share of this set is ejected. Returns `set` itself
   * when nothing is ejected.
   */
  available<T extends { id: string }>(set: readonly T[]): readonly T[] {
    const t = this.#now();
    this.#expire(t);
    if (this.#nextExpiry === Infinity) return set;
    const ejected = set.filter((i) => this.#isEjected(i.id, t));
    if (ejected.length === 0) return set;
    const allowed = Math.floor(set.length * this.#fraction);
    const keepOut = new Set(
      ejected
        .sort((a, b) => this.#state.get(b.id)!.until - this.#state.get(a.id)!.until)
        .slice(0, allowed)
        .map((i) => i.id),
    );
    return set.filter((i) => !keepOut.has(i.id));
  }

  /** Drops state of instances no longer in the set. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.#state.keys()) if (!ids.has(id)) this.#state.delete(id);
  }

  #isEjected(id: string, t: number): boolean {
    const s = this.#state.get(id);
    return s !== undefined && s.until > t;
  }

  /** Returns instances whose cool-down has ended. */
  #expire(t: number): void {
    if (t < this.#nextExpiry) return;
    let next = Infinity;
    for (const [id, s] of this.#state) {
      if (s.until === 0) continue;
      if (s.until <= t) {
        s.returnedAt = s.until;
        s.until = 0;
        s.failures = 0;
        this.#log('info', 'ejected instance returns to service', { service: this.#service, id });
      } else next = Math.min(next, s.until);
    }
    this.#nextExpiry = next;
    this.#version += 1;
  }
}
