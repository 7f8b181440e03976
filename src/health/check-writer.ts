import { isBeaconError } from '../errors/index.js';
import type { CheckResult, CheckSource, HealthLogger, StatusSink } from './types.js';

export interface CheckWriterDeps {
  source: Pick<CheckSource, 'check'>;
  sink: Pick<StatusSink, 'setCheckStatus' | 'setPending'>;
  logger: HealthLogger;
  /** Output-only changes are written at most this often. */
  outputUpdateIntervalMs: number;
  /** Called after each write (metrics). */
  onWrite?(kind: 'status' | 'output'): void;
}

/** A failed write is tried again after 1 s, doubling up to 30 s (±20 % jitter), while it is still wanted. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * Decides what of one check's results is written, and writes it through the sink, one write at
 * a time: a status change at once; an output-only change at most once per
 * `outputUpdateIntervalMs` (the latest output wins); no change, no write. The sink guards each
 * write against concurrent writers, so a re-registration is never overwritten. A write that
 * fails (store away, too many conflicts) is retried with back-off until it lands or something
 * newer is wanted, so an expired TTL cannot stay passing because the store was briefly gone.
 */
export class CheckWriter {
  private desired: CheckResult | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private lastWriteAt = 0;
  private deferred: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly deps: CheckWriterDeps,
    readonly node: string,
    readonly checkId: string,
  ) {}

  /** Asks for this status and output; resolves once written, found unchanged, or deferred (output only). */
  set(r: CheckResult): Promise<void> {
    this.desired = r;
    return this.kick();
  }

  /** The last status/output asked for. */
  get wanted(): CheckResult | undefined {
    return this.desired;
  }

  close(): void {
    this.showPending(undefined);
    this.closed = true;
    clearTimeout(this.deferred);
    clearTimeout(this.retry);
  }

  private kick(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.rerun = false;
          await this.flush();
        } while (this.rerun && !this.closed);
        this.failures = 0;
        this.showPending(undefined);
      } catch (err) {
        if (isBeaconError(err, 'BEACON_ERR_NOT_OWNER')) {
          // This server no longer holds the membership the check was run under: another server
          // runs it now. What it decided is dropped, neither shown nor tried again.
          this.close();
          throw err;
        }
        // Until the write lands, answers show what was decided, not the stale stored status.
        this.showPending(this.desired);
        this.scheduleRetry();
        throw err;
      } finally {
        this.running = undefined;
      }
    })();
    this.running = run;
    return run;
  }

  /** Runs the writer again after `ms` (a deferred output, a retry); what fails then is logged. */
  private later(ms: number, onFire: () => void, what: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      onFire();
      if (this.closed) return;
      this.kick().catch((err: unknown) => this.deps.logger.warn({ err, node: this.node, checkId: this.checkId }, what));
    }, ms);
    t.unref();
    return t;
  }

  private pendingShown = false;

  private showPending(r: CheckResult | undefined): void {
    if (r === undefined && !this.pendingShown) return;
    this.pendingShown = r !== undefined;
    this.deps.sink.setPending?.(this.node, this.checkId, r);
  }

  private defer(ms: number): void {
    if (this.deferred || this.closed) return;
    this.deferred = this.later(ms, () => (this.deferred = undefined), 'writing check output failed');
  }

  private scheduleRetry(): void {
    if (this.retry || this.closed) return;
    const ms = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
    this.failures++;
    this.retry = this.later(ms, () => (this.retry = undefined), 'writing check status failed again; retrying');
  }

  private async flush(): Promise<void> {
    if (this.closed) return;
    const want = this.desired;
    if (!want) return;
    const cur = this.deps.source.check(this.node, this.checkId);
    if (!cur) return;
    const statusChanged = cur.record.Status !== want.status;
    if (!statusChanged && cur.record.Output === want.output) return;
    if (!statusChanged) {
      const wait = this.lastWriteAt + this.deps.outputUpdateIntervalMs - Date.now();
      if (wait > 0) {
        this.defer(wait);
        return;
      }
    }
    const { written } = await this.deps.sink.setCheckStatus(this.node, this.checkId, want);
    if (written) {
      this.lastWriteAt = Date.now();
      this.deps.onWrite?.(statusChanged ? 'status' : 'output');
    }
  }
}
