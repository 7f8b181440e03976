import type { StatusCounter } from './status-counter.js';
import { MAX_TIMER_MS } from './ttl-check.js';
import type { CheckResult, Runner } from './types.js';

/** Smallest interval honoured (check intervals are at least 1 s). */
export const MIN_INTERVAL_MS = 1000;

export interface ActiveCheckOptions {
  runner: Runner;
  intervalMs: number;
  timeoutMs: number;
  counter: StatusCounter;
  /** Called with each status to report (after the counter's thresholds). */
  report(r: CheckResult): void;
  /** Called after every run with its raw result and duration (metrics). */
  observe?(r: CheckResult, ms: number): void;
  /** [0,1) source for the initial stagger; tests pin it. */
  random?: () => number;
}

/**
 * Runs one check on its interval: the first run at a random point inside the first interval
 * (so checks registered together do not run together), later runs one interval after the
 * previous one started. After a first failure the check is re-run at once, so a dead target
 * reaches FailuresBeforeCritical = 2 without waiting another interval.
 */
export class ActiveCheck {
  private timer: NodeJS.Timeout | undefined;
  private inflight: AbortController | undefined;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(private readonly opts: ActiveCheckOptions) {
    this.intervalMs = Math.max(MIN_INTERVAL_MS, opts.intervalMs);
  }

  start(): void {
    const stagger = Math.floor((this.opts.random ?? Math.random)() * this.intervalMs);
    this.schedule(stagger);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.inflight?.abort();
    this.opts.runner.close?.();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    // Node fires a timer longer than 2^31 - 1 ms at once: wait a very long interval in steps.
    if (ms > MAX_TIMER_MS) {
      this.timer = setTimeout(() => this.schedule(ms - MAX_TIMER_MS), MAX_TIMER_MS);
    } else {
      this.timer = setTimeout(() => void this.tick(), ms);
    }
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const started = Date.now();
    const r = await this.runOnce();
    if (this.stopped) return;
    this.opts.observe?.(r, Date.now() - started);
    const c = this.opts.counter;
    const report = c.feed(r);
    if (report) this.opts.report(report);
    const retryAtOnce = r.status === 'critical' && c.consecutiveFailures === 1 && c.thresholds.failuresBeforeCritical > 1;
    this.schedule(retryAtOnce ? 0 : Math.max(0, started + this.intervalMs - Date.now()));
  }

  /** One run, bounded by the timeout even if the runner ignores its signal. */
  private runOnce(): Promise<CheckResult> {
    const ac = new AbortController();
    this.inflight = ac;
    // A timeout past what one timer can wait (~24.8 days) would fire at once: cap it there.
    const timeoutMs = Math.min(this.opts.timeoutMs, MAX_TIMER_MS - 1000);
    return new Promise<CheckResult>((resolve) => {
      let done = false;
      const finish = (r: CheckResult) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        clearTimeout(hardStop);
        resolve(r);
      };
      const deadline = setTimeout(() => ac.abort(), timeoutMs);
      // A runner gets a moment after the abort to say why; then the run ends regardless.
      const hardStop = setTimeout(() => finish({ status: 'critical', output: `Timed out after ${timeoutMs} ms` }), timeoutMs + 1000);
      this.opts.runner.run({ signal: ac.signal, timeoutMs }).then(finish, (err: unknown) => {
        finish({ status: 'critical', output: err instanceof Error ? err.message : String(err) });
      });
    }).finally(() => {
      if (this.inflight === ac) this.inflight = undefined;
    });
  }
}
