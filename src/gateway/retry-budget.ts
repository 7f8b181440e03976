/**
 * Caps retries so that a failing service is not hit by a retry storm: every request deposits
 * `ratio` of a retry (0.2: retries add at most 20 % to the load), and a reserve of
 * `minPerSecond` retries refills each second so that a quiet gateway can still retry. A retry
 * takes one token; with none left the request fails on its first error instead.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #minPerSecond: number;
  readonly #cap: number;
  readonly #now: () => number;
  #earned = 0;
  #reserve: number;
  #refilledAt: number;

  constructor(opts: { ratio?: number; minPerSecond?: number; now?: () => number } = {}) {
    this.#ratio = opts.ratio ?? 0.2;
    this.#minPerSecond = opts.minPerSecond ?? 10;
    this.#cap = Math.max(10, 100 * this.#ratio * 10);
    this.#now = opts.now ?? (() => performance.now());
    this.#reserve = this.#minPerSecond;
    this.#refilledAt = this.#now();
  }

  /** A request arrived. */
  deposit(): void {
    // Rounded so that 5 deposits of 0.2 make exactly one retry.
    this.#earned = Math.min(this.#cap, Math.round((this.#earned + this.#ratio) * 1e9) / 1e9);
  }

  /** Takes one retry from the budget; false when it is spent. */
  withdraw(): boolean {
    const t = this.#now();
    const elapsed = t - this.#refilledAt;
    if (elapsed > 0) {
      this.#reserve = Math.min(this.#minPerSecond, this.#reserve + (elapsed / 1000) * this.#minPerSecond);
      this.#refilledAt = t;
    }
    if (this.#earned >= 1) {
      this.#earned -= 1;
      return true;
    }
    if (this.#reserve >= 1) {
      this.#reserve -= 1;
      return true;
    }
    return false;
  }
}
