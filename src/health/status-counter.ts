import type { CheckDefinition } from '../catalog/index.js';
import type { CheckResult } from './types.js';

export interface Thresholds {
  successBeforePassing: number;
  failuresBeforeWarning: number;
  failuresBeforeCritical: number;
}

/** A check's thresholds: its own, else the server-wide FailuresBeforeCritical default. */
export function thresholdsOf(def: CheckDefinition, serverFailuresBeforeCritical: number): Thresholds {
  const failuresBeforeCritical = def.FailuresBeforeCritical && def.FailuresBeforeCritical > 0 ? def.FailuresBeforeCritical : serverFailuresBeforeCritical;
  const fbw = def.FailuresBeforeWarning && def.FailuresBeforeWarning > 0 ? def.FailuresBeforeWarning : failuresBeforeCritical;
  return {
    successBeforePassing: def.SuccessBeforePassing ?? 0,
    failuresBeforeWarning: Math.min(fbw, failuresBeforeCritical),
    failuresBeforeCritical,
  };
}

/**
 * Consecutive-result counting, as Consul's StatusHandler: a passing or warning result counts
 * as a success and is reported once `successBeforePassing` of them came in a row; a critical
 * result is reported as critical after `failuresBeforeCritical` in a row, as warning after
 * `failuresBeforeWarning`, and not at all before that (the current status stays).
 */
export class StatusCounter {
  private successes = 0;
  private failures = 0;

  constructor(readonly thresholds: Thresholds) {}

  /** Consecutive failures so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Feeds one run's result; returns what to report, or undefined to keep the current status. */
  feed(r: CheckResult): CheckResult | undefined {
    const t = this.thresholds;
    if (r.status === 'passing' || r.status === 'warning') {
      this.successes++;
      this.failures = 0;
      return this.successes >= t.successBeforePassing ? r : undefined;
    }
    this.failures++;
    this.successes = 0;
    if (this.failures >= t.failuresBeforeCritical) return r;
    if (this.failures >= t.failuresBeforeWarning) return { status: 'warning', output: r.output };
    return undefined;
  }
}
