import type { EventHub } from './hub.js';
import { matches, type EventFilter, type HeldEvent } from './types.js';

/** How a stream is written: JSON lines (curl-friendly) or server-sent events (browsers' EventSource). */
export type StreamFormat = 'ndjson' | 'sse';

/** What a follower writes to: a Node.js ServerResponse, or anything shaped like one. */
export interface StreamTarget {
  write(chunk: string): boolean;
  end(chunk?: string): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
  once(event: 'drain' | 'close', fn: () => void): unknown;
  off(event: 'drain' | 'close', fn: () => void): unknown;
  destroy?(): void;
}

export interface FollowOptions {
  format: StreamFormat;
  filter: EventFilter;
  /** Deliver events with a revision after this one; undefined: everything held. */
  since?: number;
  /** Keep following after the history (false: answer what is held and end). */
  follow: boolean;
  /** A reader with more than this many bytes unsent is dropped (default 1 MiB). */
  maxBufferBytes?: number;
  /** Interval of keep-alive lines while nothing happens (default 15 s). */
  keepAliveMs?: number;
  /** Ends the stream (server shutting down). */
  signal?: AbortSignal;
  /** Told when this reader is dropped for being slow. */
  onDropped?: () => void;
}

export const DEFAULT_MAX_BUFFER_BYTES = 1 << 20;
const REPLAY_CHUNK = 512;

const frame = (e: HeldEvent, format: StreamFormat): string => (format === 'sse' ? `id: ${e.event.revision}\ndata: ${e.json}\n\n` : `${e.json}\n`);

/**
 * Streams a hub's events to one reader: first what the history holds after `since` (with a gap
 * event when the history no longer reaches back that far), then every new event as it comes.
 * The history is replayed at the reader's pace (waiting for its socket to drain); once live,
 * a reader that leaves more than `maxBufferBytes` unsent is dropped with a last line saying
 * from which revision to resume, so no reader makes the server buffer without bound.
 * Resolves when the stream has ended.
 */
export async function followEvents(hub: EventHub, target: StreamTarget, opts: FollowOptions): Promise<'ended' | 'closed' | 'dropped'> {
  const max = opts.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  const h = hub.history;
  let cursor = opts.since ?? h.floor;
  let closed = target.destroyed;
  const onClose = () => (closed = true);
  target.once('close', onClose);

  /** The frames of a batch this reader wants; moves the cursor past the batch. */
  const render = (batch: readonly HeldEvent[]): string => {
    let text = '';
    for (const e of batch) {
      if (e.event.revision <= cursor && e.event.kind !== 'gap') continue;
      if (matches(e.event, opts.filter)) text += frame(e, opts.format);
    }
    if (batch.length > 0) cursor = Math.max(cursor, batch[batch.length - 1].event.revision);
    return text;
  };
  const send = (batch: readonly HeldEvent[]): void => {
    const text = render(batch);
    if (text) target.write(text);
  };
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        target.off('drain', done);
        target.off('close', done);
        resolve();
      };
      target.once('drain', done);
      target.once('close', done);
    });

  if (opts.format === 'sse') target.write('retry: 2000\n\n');
  // Replay what is held, at the reader's pace.
  for (let guard = 0; !closed && guard < 1_000_000; guard++) {
    if (!h.holdsAfter(cursor)) {
      target.write(frame(hub.gapEvent(cursor, h.floor), opts.format));
      cursor = h.floor;
    }
    const batch = h.after(cursor, REPLAY_CHUNK);
    if (batch.length === 0) break;
    send(batch);
    if (target.writableLength > max) await drained();
  }
  if (closed || !opts.follow || opts.signal?.aborted) {
    target.off('close', onClose);
    if (!target.destroyed) target.end();
    return closed ? 'closed' : 'ended';
  }

  // Live: every event is rendered as it is applied; what a reader gets within FLUSH_MS goes out
  // in one write (one shared timer for all readers), so many readers cost few writes.
  return new Promise((resolve) => {
    let keepAlive: NodeJS.Timeout | undefined;
    let pending = '';
    let done = false;
    const finish = (how: 'ended' | 'closed' | 'dropped', last = '') => {
      if (done) return;
      done = true;
      unsubscribe();
      flushers.delete(flush);
      clearInterval(keepAlive);
      target.off('close', finishClosed);
      opts.signal?.removeEventListener('abort', finishEnded);
      if (!target.destroyed) target.end(pending + last);
      pending = '';
      // A dropped reader that never reads again must not hold its unsent bytes for ever.
      if (how === 'dropped') setTimeout(() => target.destroy?.(), 30_000).unref();
      resolve(how);
    };
    const finishClosed = () => finish('closed');
    const finishEnded = () => finish('ended');
    const flush = () => {
      if (done) return;
      if (pending) {
        target.write(pending);
        pending = '';
      }
      if (target.writableLength > max) {
        opts.onDropped?.();
        const line = JSON.stringify({
          code: 'BEACON_ERR_SLOW_CONSUMER',
          message: `this reader fell behind by more than ${max} bytes and was dropped; resume with since=${cursor}`,
          resumeAfter: cursor,
        });
        finish('dropped', opts.format === 'sse' ? `event: dropped\ndata: ${line}\n\n` : `${line}\n`);
      }
    };
    const unsubscribe = hub.subscribe((batch) => {
      const text = render(batch);
      if (!text) return;
      pending += text;
      if (pending.length + target.writableLength > max) flush();
      else scheduleFlush(flush);
    });
    target.off('close', onClose);
    target.once('close', finishClosed);
    opts.signal?.addEventListener('abort', finishEnded, { once: true });
    keepAlive = setInterval(() => target.write(opts.format === 'sse' ? ': keep-alive\n\n' : '\n'), opts.keepAliveMs ?? 15_000);
    keepAlive.unref();
  });
}

/** How long a live reader's events may wait to go out together. */
const FLUSH_MS = 10;
const flushers = new Set<() => void>();
let flushTimer: NodeJS.Timeout | undefined;

function scheduleFlush(flush: () => void): void {
  flushers.add(flush);
  flushTimer ??= setTimeout(() => {
    flushTimer = undefined;
    const all = [...flushers];
    flushers.clear();
    for (const f of all) f();
  }, FLUSH_MS);
}
