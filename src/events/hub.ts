import type { Catalog, RecordChange } from '../catalog/index.js';
import { deriveEvents } from './derive.js';
import { FlapTracker } from './flapping.js';
import { EventHistory, type HistoryLimits } from './history.js';
import { hold, type BeaconEvent, type HeldEvent } from './types.js';

/** Told of every batch of events as it is appended (a stream, a sink). */
export type EventSubscriber = (batch: readonly HeldEvent[]) => void;

export interface EventHubOptions {
  datacenter: string;
  history: HistoryLimits;
  /** The clock (tests use a fake one). */
  now?: () => number;
  /** Told of every event (metrics). */
  onEvent?: (e: BeaconEvent) => void;
}

const checkKey = (node: string, check: string): string => `${node}\u0000${check}`;

/**
 * The event history of one server: derives events from every record change the catalog
 * applies, marks flapping checks, keeps them in a bounded history and tells subscribers.
 *
 * @example
 * const hub = new EventHub({ datacenter: 'dc1', history: { maxEvents: 10_000, maxAgeMs: 3_600_000 } });
 * hub.attach(catalog);
 * const stop = hub.subscribe((batch) => console.log(batch.map((e) => e.json).join('\n')));
 */
export class EventHub {
  readonly history: EventHistory;
  readonly flaps = new FlapTracker();
  private readonly subscribers = new Set<EventSubscriber>();
  private readonly now: () => number;
  private detach: (() => void) | undefined;
  gaps = 0;

  constructor(private readonly opts: EventHubOptions) {
    this.now = opts.now ?? Date.now;
    this.history = new EventHistory(opts.history, 0);
  }

  /** Follows the catalog from its current revision on. */
  attach(catalog: Catalog): void {
    this.history.floor = this.history.revision = catalog.revision;
    this.detach = catalog.onRecordChange({
      changed: (changes, revision) => this.apply(changes, revision),
      reloaded: (from, revision) => this.reloaded(from, revision),
    });
  }

  stop(): void {
    this.detach?.();
    this.detach = undefined;
    this.subscribers.clear();
  }

  /** Applies one revision's record changes (the catalog calls this; tests may too). */
  apply(changes: readonly RecordChange[], revision: number): void {
    const time = this.now();
    const events = deriveEvents(changes, revision, time, this.opts.datacenter);
    for (const e of events) {
      if (e.kind === 'check-status' && e.node !== undefined && e.check !== undefined) {
        if (this.flaps.transition(checkKey(e.node, e.check), time)) e.flapping = true;
      }
    }
    for (const c of changes) if (c.kind === 'check' && !c.after) this.flaps.forget(checkKey(c.node, c.id));
    this.publish(events, revision, time);
  }

  /** The catalog re-listed: the changes between its last revision and the listing were not seen one by one. */
  reloaded(from: number, revision: number): void {
    this.gaps++;
    const time = this.now();
    this.publish([{ revision, time, kind: 'gap', datacenter: this.opts.datacenter, after: from }], revision, time);
  }

  private publish(events: BeaconEvent[], revision: number, time: number): void {
    this.history.expire(time);
    const held = events.map(hold);
    for (const h of held) {
      this.history.append(h);
      this.opts.onEvent?.(h.event);
    }
    this.history.advance(revision);
    if (held.length === 0) return;
    for (const s of this.subscribers) s(held);
  }

  /** Whether check `node`/`check` is flapping now (the UI and reads). */
  isFlapping(node: string, check: string): boolean {
    return this.flaps.flapping(checkKey(node, check), this.now());
  }

  subscribe(s: EventSubscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** A gap event telling a reader from `after` that events up to `revision` are not held. */
  gapEvent(after: number, revision: number): HeldEvent {
    return hold({ revision, time: this.now(), kind: 'gap', datacenter: this.opts.datacenter, after });
  }
}
