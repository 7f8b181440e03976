/** Settings for exponential back-off. */
export interface BackoffOptions {
  /** First delay, in ms. */
  baseMs: number;
  /** Largest delay, in ms. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 for the first retry): exponential growth capped at
 * `maxMs`, with "equal jitter" — the result lies in [ceiling/2, ceiling] so that clients that
 * failed together do not retry together, while the delay still grows.
 *
 * @example
 * backoffDelay(0, { baseMs: 100, maxMs: 10_000 }); // 50..100
 * backoffDelay(3, { baseMs: 100, maxMs: 10_000 }); // 400..800
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(0, attempt), 52));
  return exp / 2 + random() * (exp / 2);
}

/**
 * `ms` spread by ±`fraction` (0.1 = ±10 %), for periodic loops (convention: jitter on every loop).
 *
 * @example
 * jitter(10_000, 0.1); // 9_000..11_000
 */
export function jitter(ms: number, fraction: number, random: () => number = Math.random): number {
  return ms * (1 - fraction + 2 * fraction * random());
}

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. The timer does not keep the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}
