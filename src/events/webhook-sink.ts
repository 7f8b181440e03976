import type { Logger } from '../config/index.js';
import { CursorFile } from './cursor-file.js';
import type { EventHub } from './hub.js';
import type { HeldEvent } from './types.js';

export interface WebhookSinkOptions {
  url: string;
  /** Where the cursor is kept (in the data directory). */
  cursorPath: string;
  logger: Logger;
  /** Most events in one POST (whole revisions; default 500). */
  batchSize?: number;
  /** One POST may take this long before it counts as failed (default 10 s). */
  timeoutMs?: number;
  /** Back-off after a failure: from baseMs doubling to maxMs, each with full jitter (defaults 500 ms, 30 s). */
  backoff?: { baseMs: number; maxMs: number };
  /** Fetch to use (tests). */
  fetch?: typeof fetch;
}

export interface SinkStats {
  delivered: number;
  failures: number;
  /** Events the history dropped before this sink could deliver them. */
  lost: number;
  /** Revision of the last event delivered. */
  cursor: number;
}

/**
 * Posts the hub's events to a webhook in batches of JSON lines, at least once and in revision
 * order: a batch is retried (jittered exponential back-off) until the receiver answers 2xx,
 * and the cursor (the last revision delivered) is persisted after each, so a restart resumes
 * from it. It reads from the history and never holds up the catalog: a slow or dead receiver
 * only makes it lag. Events the history dropped before they were delivered are logged and
 * sent as a gap event.
 */
export class WebhookSink {
  readonly stats: SinkStats = { delivered: 0, failures: 0, lost: 0, cursor: 0 };
  private readonly cursorFile: CursorFile;
  private stopped = false;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private inflight: AbortController | undefined;
  /** Events left undelivered by the previous run of this server, delivered first. */
  private spooled: HeldEvent[] = [];

  constructor(
    private readonly hub: EventHub,
    private readonly opts: WebhookSinkOptions,
  ) {
    this.cursorFile = new CursorFile(opts.cursorPath, opts.url);
  }

  /** Events held that this sink has not delivered yet. */
  get lag(): number {
    return this.spooled.length + this.hub.history.countAfter(this.stats.cursor);
  }

  start(): void {
    let saved = this.cursorFile.load();
    if (saved !== undefined && saved > this.hub.history.revision) {
      // A cursor ahead of the store (a store recreated under a kept data dir, an etcd cluster
      // rebuilt): following it would skip every event up to it.
      this.opts.logger.warn(
        { sink: this.opts.url, cursor: saved, revision: this.hub.history.revision },
        'event sink: its saved cursor is ahead of the store; starting from the current revision',
      );
      saved = undefined;
      this.cursorFile.saveSpool([], 0);
    }
    const spool = this.cursorFile.loadSpool();
    this.spooled = spool.events.filter((e) => saved === undefined || e.event.revision > saved);
    // With a spool the last run applied up to spool.applied: its events are delivered first, and
    // the history must reach back to there (else a gap event says what was not seen).
    this.stats.cursor = this.spooled.length > 0 ? spool.applied : (saved ?? this.hub.history.floor);
    this.unsubscribe = this.hub.subscribe(() => this.wake?.());
    this.loop = this.run();
  }

  /** Stops; waits up to `graceMs` for what is held to be delivered first. */
  async stop(graceMs = 0): Promise<void> {
    if (graceMs > 0 && this.lag > 0 && !this.stopped) {
      const until = Date.now() + graceMs;
      while (this.lag > 0 && Date.now() < until) await sleep(50);
    }
    this.stopped = true;
    this.unsubscribe?.();
    this.inflight?.abort();
    this.wake?.();
    await this.loop;
    const left = [...this.spooled, ...this.hub.history.after(this.stats.cursor)];
    const applied = Math.max(this.stats.cursor, this.hub.history.revision);
    try {
      // Kept for the next start, which delivers them before anything new.
      this.cursorFile.saveSpool(left, applied);
      if (left.length === 0) this.cursorFile.save(applied);
    } catch (err) {
      this.opts.logger.warn({ err, sink: this.opts.url }, 'event sink: cannot keep its undelivered events for the next start');
    }
    if (left.length > 0)
      this.opts.logger.warn(
        { sink: this.opts.url, undelivered: left.length, after: this.stats.cursor },
        'event sink stopped with events not delivered; the next start delivers them first',
      );
  }

  private async run(): Promise<void> {
    const h = this.hub.history;
    const size = this.opts.batchSize ?? 500;
    let attempt = 0;
    while (!this.stopped) {
      let lines: HeldEvent[] = [];
      if (this.spooled.length > 0) {
        lines = this.spooled.slice(0, size);
        if (await this.post(lines)) {
          this.spooled = this.spooled.slice(lines.length);
          this.stats.delivered += lines.length;
          this.saveCursor(this.spooled.length === 0 ? this.stats.cursor : lines[lines.length - 1].event.revision);
          if (this.spooled.length === 0) this.cursorFile.saveSpool([], 0);
          attempt = 0;
        } else if (!this.stopped) {
          this.stats.failures++;
          await this.sleepOrStop(this.backoff(++attempt));
        }
        continue;
      }
      if (!h.holdsAfter(this.stats.cursor)) {
        const gap = this.hub.gapEvent(this.stats.cursor, h.floor);
        this.stats.lost++;
        this.opts.logger.warn(
          { sink: this.opts.url, after: this.stats.cursor, upTo: h.floor },
          `event sink: events after revision ${this.stats.cursor} up to ${h.floor} were dropped from the history before they were delivered`,
        );
        lines = [gap];
      }
      lines.push(...h.after(lines.length > 0 ? h.floor : this.stats.cursor, size));
      if (lines.length === 0) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      const upTo = lines[lines.length - 1].event.revision;
      const ok = await this.post(lines);
      if (this.stopped && !ok) break;
      if (ok) {
        attempt = 0;
        this.stats.delivered += lines.length;
        this.stats.cursor = upTo;
        // Caught up: everything to the last applied revision is delivered, events or not.
        if (h.countAfter(upTo) === 0) this.stats.cursor = Math.max(upTo, h.revision);
        this.saveCursor(this.stats.cursor);
        continue;
      }
      this.stats.failures++;
      await this.sleepOrStop(this.backoff(++attempt));
    }
  }

  /** Full-jitter exponential back-off: a random wait in the upper half of base * 2^(attempt-1), capped. */
  private backoff(attempt: number): number {
    const { baseMs, maxMs } = this.opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 20));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private saveCursor(revision: number): void {
    try {
      this.cursorFile.save(revision);
    } catch (err) {
      this.opts.logger.warn({ err, path: this.cursorFile.path }, 'event sink: cannot persist its cursor');
    }
  }

  private async post(lines: readonly HeldEvent[]): Promise<boolean> {
    const ac = new AbortController();
    this.inflight = ac;
    const timer = setTimeout(() => ac.abort(), this.opts.timeoutMs ?? 10_000);
    try {
      const res = await (this.opts.fetch ?? fetch)(this.opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: lines.map((l) => l.json).join('\n') + '\n',
        signal: ac.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
      this.opts.logger.debug({ sink: this.opts.url, status: res.status }, 'event sink: receiver refused a batch; retrying');
      return false;
    } catch (err) {
      this.opts.logger.debug({ sink: this.opts.url, err }, 'event sink: posting a batch failed; retrying');
      return false;
    } finally {
      clearTimeout(timer);
      this.inflight = undefined;
    }
  }

  private sleepOrStop(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        if (!this.stopped) return;
        clearTimeout(t);
        resolve();
      };
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
