/**
 * Whether the embedded store takes writes, and the background retry while it does not.
 *
 * A failed commit (disk full, I/O error) turns the store unwritable; the store undoes the
 * commit's changes in memory and refuses its writes, and this tracker schedules a probe with
 * jittered exponential back-off (200 ms doubling to 5 s). The probe is a real commit (see
 * EmbeddedStore.probe); writes that arrive meanwhile are tried too, so whichever succeeds first
 * turns the store writable again. The process never exits over it: a restart would not free the
 * disk, and reads go on being served. Instead the state is logged loudly (an error on the change,
 * again every minute while it lasts), exposed by `health()` and the `beacon_store_writable`
 * gauge, and every refused write says why.
 */
import type { StoreHealth } from '../health.js';
import type { StoreLogger } from '../logger.js';
import { HealthState, jittered } from '../health-state.js';

const PROBE_BASE_MS = 200;
const PROBE_CAP_MS = 5000;
/** While unwritable, how often the error is logged again. */
const REMIND_EVERY_MS = 60_000;

/** The one-line text of a commit failure, with SQLite's or the system's error code. */
export function describeFailure(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  return typeof e.code === 'string' ? `${e.code}: ${message}` : message;
}

export class WriteHealth {
  /** Commits that failed since open (beacon_store_commit_failures_total). */
  failures = 0;
  private readonly health: HealthState;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private outageFailures = 0;
  private remindedAt = 0;
  private stopped = false;

  constructor(
    private readonly path: string,
    private readonly logger: StoreLogger,
    /** Tries a commit; the store reports the outcome through {@link failed} or {@link succeeded}. */
    private readonly probe: () => void,
  ) {
    this.health = new HealthState(this.logger);
  }

  get current(): StoreHealth {
    return this.health.current;
  }

  private get state(): StoreHealth {
    return this.health.current;
  }

  get writable(): boolean {
    return this.state.writable;
  }

  /** A delay for retrying work that needs a write (a lease expiry), jittered like the probe. */
  retryDelay(): number {
    return jittered(Math.min(PROBE_CAP_MS, PROBE_BASE_MS * 2 ** this.attempt));
  }

  /** A commit failed: records it, turns the store unwritable and schedules a probe; returns the message for the refused writes. */
  failed(err: unknown): string {
    this.failures++;
    this.outageFailures++;
    const why = describeFailure(err);
    const message = `writing the store database ${this.path} failed (${why}); the writes were not applied; the store retries by itself and takes writes again once the disk does`;
    const now = Date.now();
    if (this.state.writable) {
      this.health.set({ writable: false, since: now, lastError: why });
      this.remindedAt = now;
      this.logger.error(
        { err, path: this.path },
        `store not writable: ${why}; writes are refused with BEACON_ERR_STORE_UNAVAILABLE until a commit succeeds again (retrying in the background)`,
      );
    } else {
      if (why !== this.state.lastError) this.health.set({ ...this.state, lastError: why });
      if (now - this.remindedAt >= REMIND_EVERY_MS) {
        this.remindedAt = now;
        this.logger.error(
          { path: this.path, failedCommits: this.outageFailures, sinceMs: now - this.state.since, lastError: why },
          `store still not writable after ${Math.round((now - this.state.since) / 1000)}s (${this.outageFailures} failed commits): ${why}`,
        );
      }
    }
    if (this.timer === undefined && !this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.stopped && !this.state.writable) this.probe();
      }, this.retryDelay());
      this.timer.unref();
      this.attempt++;
    }
    return message;
  }

  /** A commit succeeded. */
  succeeded(): void {
    if (this.state.writable) return;
    const now = Date.now();
    this.logger.info(
      { path: this.path, failedCommits: this.outageFailures, outageMs: now - this.state.since },
      `store writable again after ${Math.round((now - this.state.since) / 1000)}s (${this.outageFailures} failed commits)`,
    );
    clearTimeout(this.timer);
    this.timer = undefined;
    this.attempt = 0;
    this.outageFailures = 0;
    this.health.set({ writable: true, since: now, lastError: this.state.lastError });
  }

  onChange(listener: (h: StoreHealth) => void): () => void {
    return this.health.onChange(listener);
  }

  /** The store is closed: no more probes; it reports unwritable. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.health.set({ writable: false, since: Date.now(), lastError: 'the store is closed' });
  }
}
