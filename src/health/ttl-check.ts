import type { CheckResult } from './types.js';

/** Consul's expiry output: `TTL expired`, with the last output when there was one. */
export function expiredOutput(lastOutput: string): string {
  return lastOutput === '' ? 'TTL expired' : `TTL expired (last output before timeout follows): ${lastOutput}`;
}

/**
 * A TTL check's timer, held in memory only (design.md, liveness): each update restarts it;
 * when it runs out the check turns critical. A new owner starts a fresh timer, so a takeover
 * never flags a healthy instance.
 */
export class TtlCheck {
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  /** Output of the last update, for the expiry message. */
  lastOutput: string;
  expired = false;

  constructor(readonly ttlMs: number, initialOutput: string, private readonly onExpire: (r: CheckResult) => void) {
    this.lastOutput = initialOutput;
    this.timer = setTimeout(() => this.fire(), ttlMs);
    this.timer.unref();
  }

  /** An update came in: restart the timer (cheap: no new timer is allocated). */
  touch(output: string): void {
    if (this.stopped) return;
    this.lastOutput = output;
    this.expired = false;
    this.timer.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private fire(): void {
    if (this.stopped) return;
    this.expired = true;
    this.onExpire({ status: 'critical', output: expiredOutput(this.lastOutput) });
  }
}
