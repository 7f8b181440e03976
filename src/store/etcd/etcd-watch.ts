/**
 * One store watch over an etcd Watch stream, kept alive across disconnects.
 *
 * etcd sends events, possibly of several revisions, per response; this watch hands them on one
 * revision at a time (events grouped by their mod revision, a delete's being the delete's own)
 * with their previous values. It remembers the next revision it owes its watcher; when the
 * stream fails (member killed, connection lost, the member lost its leader, no answer to the
 * create request in time) it opens a new one from exactly that revision after a jittered,
 * growing pause, and drops anything a replay sends twice — so the watcher sees every revision
 * once, in order. Progress notices with no events move that revision on, so a quiet watch does
 * not resume from far back. A start revision etcd has compacted away ends the watch with
 * BEACON_ERR_COMPACTED: the watcher re-lists and watches again.
 */
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { BeaconError } from '../../errors/index.js';
import type { StoreLogger } from '../logger.js';
import type { WatchEvent, WatchHandle, WatchOptions } from '../types.js';
import { decodeKv, num, prefixRange } from './codec.js';
import { jittered } from './etcd-health.js';

const RECONNECT_BASE_MS = 100;
const RECONNECT_CAP_MS = 5000;

export interface WatchDeps {
  /** Opens a Watch stream on some member. */
  open(): Promise<IDuplexStream<IWatchRequest, IWatchResponse>>;
  /** The store's current revision (a quorum read), for a watch from revision 0. */
  currentRevision(): Promise<number>;
  logger: StoreLogger;
  /** How long to wait for etcd to confirm a new watch before trying another stream. */
  timeoutMs: number;
  /** The watch is over (cancelled or failed). */
  ended(w: EtcdWatch): void;
}

function toEvent(ev: IEvent): WatchEvent {
  const kv = decodeKv(ev.kv);
  const prev = ev.prev_kv !== null && ev.prev_kv !== undefined && ev.prev_kv.key !== undefined && ev.prev_kv.key.length > 0 ? decodeKv(ev.prev_kv) : undefined;
  const type = String(ev.type).toUpperCase() === 'DELETE' ? 'delete' : 'put';
  return prev === undefined ? { type, kv } : { type, kv, prevKv: prev };
}

export class EtcdWatch implements WatchHandle {
  /** The next revision owed to the watcher. */
  private next = 0;
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private done = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: WatchDeps,
    private readonly opts: WatchOptions,
  ) {}

  start(): void {
    if (this.opts.fromRevision > 0) {
      this.next = this.opts.fromRevision;
      this.connect();
      return;
    }
    // "Changes after now": now is the revision a quorum read returns.
    this.deps.currentRevision().then(
      (rev) => {
        this.next = rev + 1;
        this.connect();
      },
      (err: unknown) => this.fail(err as Error),
    );
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.teardown();
    this.deps.ended(this);
  }

  /** Ends the watch, telling the watcher why (at most once). */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.teardown();
    this.deps.ended(this);
    try {
      this.opts.onError(err);
    } catch (e) {
      this.deps.logger.warn({ err: e }, 'a store watcher threw from onError');
    }
  }

  private teardown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.stream;
    this.stream = undefined;
    if (s !== undefined) {
      try {
        s.cancel();
      } catch {
        // Already gone.
      }
    }
  }

  private connect(): void {
    if (this.done) return;
    this.deps.open().then(
      (stream) => {
        if (this.done) {
          stream.cancel();
          return;
        }
        this.stream = stream;
        stream.on('data', (res) => this.onResponse(stream, res));
        stream.on('error', (err) => this.lost(stream, err.message));
        stream.on('end', () => this.lost(stream, 'the watch stream ended'));
        stream.write({
          create_request: { ...prefixRange(this.opts.prefix), start_revision: this.next, prev_kv: true, progress_notify: true },
        });
        this.timer = setTimeout(() => this.lost(stream, `etcd did not confirm the watch within ${this.deps.timeoutMs} ms`), this.deps.timeoutMs);
        this.timer.unref();
      },
      (err: unknown) => this.lost(undefined, (err as Error).message),
    );
  }

  /** The stream is gone or useless: open another one from the next revision owed, after a jittered pause. */
  private lost(stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined, why: string): void {
    if (this.done || (stream !== undefined && stream !== this.stream)) return;
    this.teardown();
    const delay = jittered(Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** this.attempt++));
    this.deps.logger.info({ prefix: this.opts.prefix, fromRevision: this.next, retryMs: Math.round(delay), why }, 'etcd watch stream lost; resuming');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
    this.timer.unref();
  }

  private onResponse(stream: IDuplexStream<IWatchRequest, IWatchResponse>, res: IWatchResponse): void {
    if (this.done || stream !== this.stream) return;
    const compacted = num(res.compact_revision);
    if (compacted > 0 || /compacted/i.test(res.cancel_reason ?? '')) {
      this.fail(
        new BeaconError(
          'BEACON_ERR_COMPACTED',
          `watch of ${JSON.stringify(this.opts.prefix)} from revision ${this.next}: etcd has compacted its history up to revision ${compacted}; re-list and watch from the listed revision + 1`,
        ),
      );
      return;
    }
    if (res.canceled) {
      this.lost(stream, `etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`);
      return;
    }
    if (res.created) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.attempt = 0;
    }
    const events = res.events ?? [];
    if (events.length === 0) {
      // A progress notice: every event up to its revision was sent.
      if (!res.created) this.next = Math.max(this.next, num(res.header?.revision) + 1);
      return;
    }
    let i = 0;
    while (i < events.length) {
      const revision = num(events[i].kv.mod_revision);
      const batch: WatchEvent[] = [];
      for (; i < events.length && num(events[i].kv.mod_revision) === revision; i++) batch.push(toEvent(events[i]));
      if (revision < this.next) continue; // replayed after a reconnect: delivered already
      this.next = revision + 1;
      try {
        this.opts.onBatch({ revision, events: batch });
      } catch (err) {
        this.deps.logger.warn({ err, revision }, 'a store watcher threw from onBatch; it keeps receiving');
      }
      if (this.done || stream !== this.stream) return;
    }
  }
}
