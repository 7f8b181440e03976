import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Logger } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import type { EventHub } from './hub.js';
import type { HeldEvent } from './types.js';

/** Unwritten bytes past which the log drops events instead of holding them (a stuck disk). */
const MAX_PENDING_BYTES = 16 << 20;

/**
 * Appends every event to a file as one JSON line, for a log shipper to carry on. Writes are
 * asynchronous: when the disk does not keep up (more than 16 MiB unwritten) events are dropped
 * and counted, and the log says how many, rather than holding up the catalog.
 */
export class EventLogSink {
  dropped = 0;
  written = 0;
  private out: WriteStream | undefined;
  private unsubscribe: (() => void) | undefined;
  private failed = false;

  constructor(
    private readonly hub: EventHub,
    private readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** Opens the file (its directory must exist); a file that cannot be opened stops the start with one line. */
  start(): void {
    try {
      closeSync(openSync(this.path, 'a'));
    } catch (err) {
      throw new BeaconError('BEACON_ERR_STARTUP', `cannot open the event log ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    this.open();
    this.unsubscribe = this.hub.subscribe((batch) => this.write(batch));
  }

  private open(): void {
    const out = createWriteStream(this.path, { flags: 'a' });
    out.on('error', (err) => {
      if (this.out !== out) return;
      this.failed = true;
      this.logger.error({ err, path: this.path }, 'event log: cannot write; dropping events until it can be reopened');
      this.out = undefined;
      setTimeout(
        () => {
          if (this.unsubscribe) {
            this.failed = false;
            this.open();
          }
        },
        5000 + Math.random() * 5000,
      ).unref();
    });
    this.out = out;
  }

  /** Events not yet written (bytes): the log's lag. */
  get pendingBytes(): number {
    return this.out?.writableLength ?? 0;
  }

  private write(batch: readonly HeldEvent[]): void {
    const out = this.out;
    if (!out || this.failed || out.writableLength > MAX_PENDING_BYTES) {
      if (this.dropped === 0 || this.dropped % 1000 === 0)
        this.logger.warn({ path: this.path, dropped: this.dropped + batch.length }, 'event log: not keeping up; events dropped');
      this.dropped += batch.length;
      return;
    }
    out.write(batch.map((e) => e.json).join('\n') + '\n');
    this.written += batch.length;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const out = this.out;
    this.out = undefined;
    if (out) await new Promise<void>((r) => out.end(() => r()));
  }
}
