/**
 * Watchers and the bounded in-memory history of committed revisions they replay from.
 * The history holds one batch per revision for every revision in (compacted, last] (except
 * revision 1 of a fresh store, which changed nothing), so a watch from any revision in that
 * window replays without gaps and then goes live; a watch from at or below `compacted` fails
 * with BEACON_ERR_COMPACTED.
 */
import { BeaconError } from '../../errors/index.js';
import type { StoreLogger } from '../logger.js';
import type { WatchBatch, WatchHandle, WatchOptions } from '../types.js';

interface Watcher {
  readonly opts: WatchOptions;
  /** Next revision this watcher has not seen. */
  nextRevision: number;
  /** False until its replay has run (it receives no live batches before). */
  live: boolean;
  done: boolean;
}

export class WatchHub {
  /** Highest revision whose history is gone. */
  compacted: number;
  /** Highest revision published. */
  private last: number;
  private history: WatchBatch[] = [];
  private head = 0;
  private readonly watchers = new Set<Watcher>();

  constructor(
    revision: number,
    compacted: number,
    private readonly maxHistory: number,
    private readonly logger: StoreLogger,
  ) {
    this.compacted = compacted;
    this.last = revision;
  }

  get size(): number {
    return this.watchers.size;
  }

  get historyLength(): number {
    return this.history.length - this.head;
  }

  /** Registers a watch. Replay (if any) runs in a microtask, never inside this call. */
  add(opts: WatchOptions): WatchHandle {
    const w: Watcher = { opts, nextRevision: opts.fromRevision === 0 ? this.last + 1 : opts.fromRevision, live: opts.fromRevision === 0, done: false };
    this.watchers.add(w);
    if (!w.live) queueMicrotask(() => this.replay(w));
    return {
      cancel: () => {
        w.done = true;
        this.watchers.delete(w);
      },
    };
  }

  /** Records newly committed batches (consecutive revisions) and delivers them to live watchers. */
  publish(batches: readonly WatchBatch[]): void {
    for (const batch of batches) {
      this.history.push(batch);
      this.last = batch.revision;
      for (const w of this.watchers) if (w.live) this.deliver(w, batch);
    }
    const excess = this.historyLength - this.maxHistory;
    if (excess > 0) this.drop(excess);
  }

  /** Drops history at or below `revision` (clamped to the last published revision). */
  compact(revision: number): void {
    const upTo = Math.min(revision, this.last);
    if (upTo <= this.compacted) return;
    const oldest = this.history[this.head]?.revision;
    if (oldest !== undefined && upTo >= oldest) this.drop(upTo - oldest + 1);
    this.compacted = upTo;
  }

  /** Ends every watch with `err`. */
  failAll(err: Error): void {
    for (const w of [...this.watchers]) this.fail(w, err);
  }

  private replay(w: Watcher): void {
    if (w.done) return;
    if (w.nextRevision <= this.compacted) {
      this.fail(
        w,
        new BeaconError(
          'BEACON_ERR_COMPACTED',
          `revision ${w.nextRevision} was compacted (history starts after revision ${this.compacted}); re-list and watch again`,
        ),
      );
      return;
    }
    const oldest = this.history[this.head]?.revision ?? w.nextRevision;
    for (let i = this.head + Math.max(0, w.nextRevision - oldest); i < this.history.length && !w.done; i++) {
      this.deliver(w, this.history[i]);
    }
    w.live = true;
  }

  private deliver(w: Watcher, batch: WatchBatch): void {
    if (w.done || batch.revision < w.nextRevision) return;
    w.nextRevision = batch.revision + 1;
    const prefix = w.opts.prefix;
    let out = batch;
    if (prefix !== '') {
      const events = batch.events.filter((e) => e.kv.key.startsWith(prefix));
      if (events.length === 0) return;
      if (events.length !== batch.events.length) out = Object.freeze({ revision: batch.revision, events: Object.freeze(events) as WatchBatch['events'] });
    }
    try {
      w.opts.onBatch(out);
    } catch (err) {
      this.logger.warn({ err, revision: batch.revision }, 'a store watcher threw while handling a batch; it keeps receiving');
    }
  }

  private fail(w: Watcher, err: Error): void {
    if (w.done) return;
    w.done = true;
    this.watchers.delete(w);
    try {
      w.opts.onError(err);
    } catch (e) {
      this.logger.warn({ err: e }, 'a store watcher threw while handling an error');
    }
  }

  /** Drops the `n` oldest batches of history. */
  private drop(n: number): void {
    this.head += n;
    this.compacted = Math.max(this.compacted, this.history[this.head - 1].revision);
    if (this.head >= 1024 && this.head * 2 >= this.history.length) {
      this.history = this.history.slice(this.head);
      this.head = 0;
    }
  }
}
