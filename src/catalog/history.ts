/**
 * Store history compaction (cluster mode's coordinator chore). etcd keeps every revision until
 * it is compacted; Beacon keeps the last `keepRevisions` of them, enough for a watcher that fell
 * behind for a while to resume without a re-list, and compacts the rest. Only the coordinator
 * does it, so the servers of a group do not race each other. (The embedded store bounds its own
 * history.)
 */
import { isBeaconError } from '../errors/index.js';
import type { Store } from '../store/index.js';

export interface HistoryCompactorOptions {
  /** Revisions kept behind the current one (default 10,000). */
  keepRevisions?: number;
  /** How often it looks (default 5 min, ±20 % jitter). */
  intervalMs?: number;
  /** Whether this process should compact now (the coordinator). */
  active(): boolean;
  onError?(err: unknown): void;
  onCompacted?(revision: number): void;
}

/**
 * @example
 * const compactor = new HistoryCompactor(store, { active: () => group.isLeader() });
 * compactor.start();
 */
export class HistoryCompactor {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private stopped = false;
  private readonly keep: number;
  private readonly intervalMs: number;

  constructor(
    private readonly store: Store,
    private readonly opts: HistoryCompactorOptions,
  ) {
    this.keep = Math.max(100, opts.keepRevisions ?? 10_000);
    this.intervalMs = Math.max(1000, opts.intervalMs ?? 5 * 60_000);
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One pass: compacts to `current - keepRevisions` when active and that moved. Resolves the revision compacted to, or 0. */
  async runOnce(): Promise<number> {
    if (!this.opts.active()) return 0;
    const target = (await this.store.currentRevision()) - this.keep;
    if (target <= this.last || target <= 0) return 0;
    try {
      await this.store.compact(target);
    } catch (err) {
      // Another server compacted past it meanwhile (a coordinator change): nothing to do.
      if (!isBeaconError(err, 'BEACON_ERR_COMPACTED')) throw err;
    }
    this.last = target;
    this.opts.onCompacted?.(target);
    return target;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.runOnce()
          .catch((err: unknown) => this.opts.onError?.(err))
          .finally(() => this.schedule());
      },
      this.intervalMs * (0.8 + Math.random() * 0.4),
    );
    this.timer.unref();
  }
}
