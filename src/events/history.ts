import type { HeldEvent } from './types.js';

/** Bytes an event costs beside its JSON text: the event object, its fields and the ring slot (measured by bench/ui-events.mjs). */
export const EVENT_OVERHEAD_BYTES = 490;

export interface HistoryLimits {
  /** Most events held. */
  maxEvents: number;
  /** Events older than this (by their time) are dropped. */
  maxAgeMs: number;
}

/**
 * The bounded event history: a ring of events in revision order. Everything at or below
 * `floor` is unknown to it (before this server started, evicted, or skipped by a re-list), so a
 * reader asking from an older revision is told it has a gap.
 */
export class EventHistory {
  private ring: (HeldEvent | undefined)[];
  private head = 0; // index of the oldest
  private count = 0;
  private bytes = 0;
  /** The newest revision this history cannot answer for (events at or below it are gone or never seen). */
  floor: number;
  /** The newest revision applied (events or not). */
  revision: number;
  evicted = 0;

  constructor(
    private readonly limits: HistoryLimits,
    startRevision: number,
  ) {
    this.ring = new Array<HeldEvent | undefined>(Math.min(limits.maxEvents, 1024));
    this.floor = startRevision;
    this.revision = startRevision;
  }

  get size(): number {
    return this.count;
  }

  /** Estimated bytes held (JSON text plus a measured per-event overhead). */
  get estimatedBytes(): number {
    return this.bytes + this.count * EVENT_OVERHEAD_BYTES;
  }

  /** The oldest held event's revision, or undefined when empty. */
  get oldest(): number | undefined {
    return this.count === 0 ? undefined : this.at(0).event.revision;
  }

  private at(i: number): HeldEvent {
    return this.ring[(this.head + i) % this.ring.length]!;
  }

  append(e: HeldEvent): void {
    if (this.count === this.ring.length && this.count < this.limits.maxEvents) this.grow();
    if (this.count === this.limits.maxEvents) this.dropOldest();
    this.ring[(this.head + this.count) % this.ring.length] = e;
    this.count++;
    this.bytes += e.json.length;
    if (e.event.revision > this.revision) this.revision = e.event.revision;
  }

  /** Marks `revision` as applied (a revision may produce no events). */
  advance(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }

  /** Drops events older than the age limit, by `now`. */
  expire(now: number): void {
    const cut = now - this.limits.maxAgeMs;
    while (this.count > 0 && this.at(0).event.time < cut) this.dropOldest();
  }

  private dropOldest(): void {
    const e = this.at(0);
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    this.bytes -= e.json.length;
    this.evicted++;
    // Other events of the same revision may still be held: the whole revision is now partial.
    if (e.event.revision > this.floor) this.floor = e.event.revision;
    while (this.count > 0 && this.at(0).event.revision <= this.floor) this.dropOldest();
  }

  private grow(): void {
    const next = new Array<HeldEvent | undefined>(Math.min(this.limits.maxEvents, this.ring.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = this.at(i);
    this.ring = next;
    this.head = 0;
  }

  /** Index of the first event with revision > rev (binary search). */
  private firstAfter(rev: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).event.revision <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether events after `rev` are all still held (false: a reader from `rev` has a gap). */
  holdsAfter(rev: number): boolean {
    return rev >= this.floor;
  }

  /** Up to `max` events with revision > rev, whole revisions only unless one revision alone exceeds `max`. */
  after(rev: number, max = Infinity): HeldEvent[] {
    const out: HeldEvent[] = [];
    let i = this.firstAfter(rev);
    let last = -1;
    for (; i < this.count; i++) {
      const e = this.at(i);
      if (out.length >= max && e.event.revision !== last) break;
      out.push(e);
      last = e.event.revision;
    }
    return out;
  }

  /** Events held after `rev` (a consumer's lag). */
  countAfter(rev: number): number {
    return this.count - this.firstAfter(rev);
  }
}
