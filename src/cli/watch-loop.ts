import { backoffDelay, jitter, nextIndex, type BackoffOptions } from '../client/index.js';

/** One answer of a blocking query: its `X-Consul-Index` (undefined when missing) and its JSON body. */
export interface WatchAnswer {
  readonly index: number | undefined;
  readonly body: unknown;
}

/** What {@link watchLoop} runs on. */
export interface WatchLoopOptions {
  /** Sends the query with `index` (0: a plain, non-blocking read). */
  fetch(index: number, signal: AbortSignal): Promise<WatchAnswer>;
  /** Called with the first answer and then with every answer whose body differs from the last one. */
  onChange(body: unknown, index: number): void;
  /** Called after a failed query (other than the first, and not fatal), before waiting `delayMs`. */
  onRetry(err: unknown, delayMs: number): void;
  /** Errors that end the watch at once (a 4xx answer: asking again will not help). */
  isFatal(err: unknown): boolean;
  /**
   * Errors that are the server's answer that it cannot serve now (a retryable 503, e.g. while it
   * shuts down). The address is right, so they are retried even before a first success, and so
   * are the failures that follow them (the server may be restarting).
   */
  isUnavailable?(err: unknown): boolean;
  /** Ends the loop (between queries or during one). */
  readonly signal: AbortSignal;
  /** Back-off after errors. Default 500 ms doubling to 30 s, with jitter. */
  readonly backoff?: BackoffOptions;
  /** Pause before the next read when the server sent no usable index (polling), in ms. Default 1 000, jittered ±20 %. */
  readonly pollMs?: number;
  readonly random?: () => number;
}

/** JSON with object keys sorted, so that two answers compare equal whatever the order of their maps. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Consul's watch loop over blocking queries: a first plain read, then queries with the last
 * `X-Consul-Index`, which the server holds until something changes. The index is reset to 0
 * (a fresh read) when it goes backwards and never sent as 0 once known. Answers whose body did
 * not change (a wait that ran out, a map in another order) are not reported. A fatal failure
 * rejects, and so does any failure before the server was ever reached (a wrong address); other
 * failures, and a server that answers it is unavailable, are retried with jittered exponential
 * back-off (the server may be restarting). Resolves when `signal` aborts.
 */
export async function watchLoop(o: WatchLoopOptions): Promise<void> {
  const backoff = o.backoff ?? { baseMs: 500, maxMs: 30_000 };
  const random = o.random ?? Math.random;
  let index = 0;
  let last: string | undefined;
  let failures = 0;
  /** The server answered once (data, or "unavailable"): the address is right. */
  let reached = false;
  while (!o.signal.aborted) {
    let answer: WatchAnswer;
    try {
      answer = await o.fetch(index, o.signal);
    } catch (err) {
      if (o.signal.aborted) return;
      if (o.isUnavailable?.(err)) reached = true;
      if (!reached || o.isFatal(err)) throw err;
      const delay = backoffDelay(failures++, backoff, random);
      o.onRetry(err, delay);
      // The server may have restarted with another history: start over with a plain read.
      index = 0;
      await sleep(delay, o.signal);
      continue;
    }
    if (o.signal.aborted) return;
    reached = true;
    failures = 0;
    const next = nextIndex(index, answer.index);
    const text = canonicalJson(answer.body);
    if (text !== last) {
      last = text;
      o.onChange(answer.body, next);
    }
    // No usable index: the server cannot block, so poll instead of spinning.
    if (next === 0 && index === 0) await sleep(jitter(o.pollMs ?? 1_000, 0.2, random), o.signal);
    index = next;
  }
}
