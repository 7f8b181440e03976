/**
 * Whether etcd takes Beacon's writes, when it last answered, and the background probe that
 * keeps both true.
 *
 * Every call the store makes reports here: a quorum answer (every read is linearizable, every
 * write committed by a quorum) is contact; a call that found etcd unreachable, leaderless or
 * out of space turns the store unwritable. A probe runs in the background all the time: every
 * `intervalMs` (±20 %) while etcd answers, so an idle server notices an outage and its last
 * contact stays fresh; with jittered back-off (200 ms doubling to 5 s) while it does not, so
 * the store turns writable again by itself once etcd is back. While etcd's NOSPACE alarm is up,
 * reads still succeed, so only a write that succeeds or a probe that finds the alarm gone ends it.
 */
import type { StoreHealth } from '../health.js';
import type { StoreLogger } from '../logger.js';
import { HealthState, jittered } from '../health-state.js';
import { NO_SPACE_TEXT, type Failure } from './etcd-errors.js';

const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 5000;
const REMIND_EVERY_MS = 60_000;

export { jittered };

export class EtcdHealth {
  private readonly health: HealthState;
  private lastOk = 0;
  private noSpace = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private stopped = false;
  private remindedAt = 0;
  private failures = 0;

  constructor(
    private readonly where: string,
    private readonly logger: StoreLogger,
    /** Asks etcd once (bounded in time); its outcome reaches {@link contact} / {@link failed}. `noSpace`: check the alarm. */
    private readonly probe: (noSpace: boolean) => Promise<void>,
    private readonly intervalMs: number,
  ) {
    this.health = new HealthState(this.logger);
  }

  get current(): StoreHealth {
    return this.health.current;
  }

  private get state(): StoreHealth {
    return this.health.current;
  }

  /** ms since the epoch of etcd's last answer (0 before the first). */
  get lastContact(): number {
    return this.lastOk;
  }

  /** Starts the background probe. */
  start(): void {
    this.schedule();
  }

  /**
   * etcd answered. `wrote`: the answer proves it takes writes (a put or txn that applied, an
   * alarm list without NOSPACE), which ends a NOSPACE outage too.
   */
  contact(wrote = false): void {
    this.lastOk = Date.now();
    if (wrote) this.noSpace = false;
    if (!this.state.writable && !this.noSpace && !this.stopped) this.up();
  }

  /** A call failed; an outage (unreachable, no leader, NOSPACE) turns the store unwritable. */
  failed(f: Failure): void {
    if (this.stopped || (f.kind !== 'unreachable' && f.kind !== 'noSpace')) return;
    this.failures++;
    if (f.kind === 'noSpace') this.noSpace = true;
    const why = f.kind === 'noSpace' ? NO_SPACE_TEXT : `cannot reach ${this.where}: ${f.detail}`;
    const now = Date.now();
    if (this.state.writable) {
      this.health.set({ writable: false, since: now, lastError: why });
      this.remindedAt = now;
      this.attempt = 0;
      this.logger.error(
        { lastError: why },
        `etcd store not writable: ${why}; writes are refused with BEACON_ERR_STORE_UNAVAILABLE until etcd answers again (probing in the background)`,
      );
      this.reschedule();
    } else {
      if (why !== this.state.lastError) this.health.set({ ...this.state, lastError: why });
      if (now - this.remindedAt >= REMIND_EVERY_MS) {
        this.remindedAt = now;
        this.logger.error(
          { lastError: why, failures: this.failures, sinceMs: now - this.state.since },
          `etcd store still not writable after ${Math.round((now - this.state.since) / 1000)}s: ${why}`,
        );
      }
    }
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

  private up(): void {
    const now = Date.now();
    this.logger.info(
      { outageMs: now - this.state.since, failures: this.failures },
      `etcd store writable again after ${Math.round((now - this.state.since) / 1000)}s`,
    );
    this.failures = 0;
    this.attempt = 0;
    this.health.set({ writable: true, since: now, lastError: this.state.lastError });
    this.reschedule();
  }

  private delay(): number {
    if (this.state.writable) return this.intervalMs * (0.8 + Math.random() * 0.4);
    return jittered(Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** this.attempt++));
  }

  /** Moves the next probe to the pace of the current state (unless one is running). */
  private reschedule(): void {
    if (this.probing) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.probing = true;
      this.probe(this.noSpace)
        .catch(() => undefined)
        .finally(() => {
          this.probing = false;
          this.schedule();
        });
    }, this.delay());
    this.timer.unref();
  }
}
