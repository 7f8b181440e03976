import type { CheckResult } from './types.js';

/** The longest delay one Node.js timer can wait (2^31 - 1 ms); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Consul's expiry output: `TTL expired`, with the last output when there was one. */
export function expiredOutput(lastOutput: string): string {
  return lastOutput === '' ? 'TTL expired' : `TTL expired (last output before timeout follows): ${lastOutput}`;
}

/**
 * A TTL check's timer, held in memory only (docs/architecture.md, liveness): each update restarts it;
 * when it runs out the check turns critical. A new owner starts a fresh timer, so a takeover
 * never flags a healthy instance.
 */
export class TtlCheck {
  private timer: NodeJS.Timeout;
  private stopped = false;
  /** A TTL longer than one timer can wait (about 24.8 days): expiry is checked against `deadline`. */
  private readonly long: boolean;
  private deadline = 0;
  /** Output of the last update, for the expiry message. */
  lastOutput: string;
  expired = false;

  constructor(
    readonly ttlMs: number,
    initialOutput: string,
    private readonly onExpire: (r: CheckResult) => void,
  ) {
    this.lastOutput = initialOutput;
    this.long = ttlMs > MAX_TIMER_MS;
    if (this.long) this.deadline = Date.now() + ttlMs;
    this.timer = setTimeout(() => this.fire(), Math.min(ttlMs, MAX_TIMER_MS));
    this.timer.unref();
  }

  /** An update came in: restart the timer (cheap: no new timer is allocated). */
  touch(output: string): void {
    if (this.stopped) return;
    this.lastOutput = output;
    this.expired = false;
    // A long TTL's timer may have been re-armed with a shorter delay: firing early only re-arms it.
    if (this.long) this.deadline = Date.now() + this.ttlMs;
    this.timer.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private fire(): void {
    if (this.stopped) return;
    if (this.long) {
      const left = this.deadline - Date.now();
      if (left > 0) {
        this.timer = setTimeout(() => this.fire(), Math.min(left, MAX_TIMER_MS));
        this.timer.unref();
        return;
      }
    }
    this.expired = true;
    this.onExpire({ status: 'critical', output: expiredOutput(this.lastOutput) });
  }
}
