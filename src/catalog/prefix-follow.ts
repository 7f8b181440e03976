import { isBeaconError } from '../errors/index.js';
import type { KeyValue, Store, WatchBatch, WatchHandle } from '../store/index.js';

export interface PrefixHandlers {
  /** A full listing: the first one (`initial`), or a re-list after the watch broke or was compacted. */
  listed(kvs: readonly KeyValue[], revision: number, initial: boolean): void;
  /** One revision's events under the prefix, in order, after the last listing. */
  batch(b: WatchBatch): void;
  /** The watch (or a re-list) failed for a reason other than compaction; it is set up again. */
  broken?(err: Error): void;
}

/**
 * Lists the keys under a prefix, then follows them from the next revision; a broken watch re-lists
 * (at once after a compaction, after a jittered pause otherwise) and follows again. The small
 * key sets next to the catalog (sessions, server members) are kept this way.
 *
 * @example
 * const follow = new PrefixFollow(store, 'beacon/servers/', { listed: (kvs) => load(kvs), batch: (b) => apply(b) });
 * await follow.start();
 */
export class PrefixFollow {
  private handle: WatchHandle | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly prefix: string,
    private readonly handlers: PrefixHandlers,
  ) {}

  async start(): Promise<void> {
    const { kvs, revision } = await this.store.range(this.prefix);
    this.handlers.listed(kvs, revision, true);
    this.follow(revision + 1);
  }

  cancel(): void {
    this.stopped = true;
    this.handle?.cancel();
  }

  private follow(fromRevision: number): void {
    if (this.stopped) return;
    this.handle = this.store.watch({
      prefix: this.prefix,
      fromRevision,
      onBatch: (b) => {
        if (!this.stopped) this.handlers.batch(b);
      },
      onError: (err) => {
        if (this.stopped) return;
        const compacted = isBeaconError(err, 'BEACON_ERR_COMPACTED');
        if (!compacted) this.handlers.broken?.(err);
        setTimeout(() => void this.relist(), compacted ? 0 : 200 + Math.random() * 300).unref();
      },
    });
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const { kvs, revision } = await this.store.range(this.prefix);
      if (this.stopped) return;
      this.follow(revision + 1);
      this.handlers.listed(kvs, revision, false);
    } catch (err) {
      if (this.stopped) return;
      this.handlers.broken?.(err as Error);
      setTimeout(() => void this.relist(), 500 + Math.random() * 500).unref();
    }
  }
}
