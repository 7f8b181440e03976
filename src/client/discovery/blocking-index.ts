/**
 * Consul's rules for the `index` of blocking queries (api-docs features/blocking,
 * "implementation details"), kept in one place so they can be tested on their own.
 */

/** Parses an `X-Consul-Index` header; undefined when absent or not a non-negative integer. */
export function parseIndex(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The index to send on the next query, given the one just sent (`sent`, 0 for a non-blocking
 * read) and the one received:
 * - missing or unparsable → 0: no index to block on (the loop falls back to rate-limited polling);
 * - smaller than `sent` → 0: the index went backwards (server restored, failed over to another
 *   cluster), so the next read is a fresh non-blocking one;
 * - 0 → 1: 0 is never a valid index; blocking on 1 instead of 0 keeps the query from returning
 *   at once forever;
 * - otherwise the received index.
 */
export function nextIndex(sent: number, received: number | undefined): number {
  if (received === undefined) return 0;
  if (received < sent) return 0;
  if (received === 0) return 1;
  return received;
}

/** Settings for re-arming a blocking query. */
export interface RearmOptions {
  /** Upper bound of the random pause before re-arming after a normal answer, in ms. */
  readonly jitterMs: number;
  /** A blocking answer faster than this that did not move the index forward "did not block". */
  readonly minBlockMs: number;
  /** Longest pause while the server does not block, and the poll interval when it gives no index, in ms. */
  readonly pollMs: number;
}

/** Input to {@link rearm}: the index sent, the next one, how long the query took, and the spin count so far. */
export interface RearmInput {
  readonly sent: number;
  readonly next: number;
  readonly elapsedMs: number;
  readonly spins: number;
}

/**
 * How long to pause before the next query, and the updated count of answers in a row that did
 * not block ("spins").
 * - After a normal answer (index moved forward, or the wait ran out): a random pause in
 *   [0, jitterMs), so that one change does not re-arm every watcher at the same instant.
 * - A blocking query that came back fast without moving the index forward (a reset, an index
 *   of 0, a server that does not block) is a spin: the pause doubles with each one in a row,
 *   from 25–50 ms up to `pollMs`, so a misbehaving server is never hammered.
 * - With no usable index at all the loop can only poll: every `pollMs` (jittered).
 * - A non-blocking read (sent 0) that got an index neither resets nor adds to the spin count.
 */
export function rearm(a: RearmInput, opts: RearmOptions, random: () => number = Math.random): { delayMs: number; spins: number } {
  const equalJitter = (ceiling: number) => ceiling / 2 + (random() * ceiling) / 2;
  if (a.sent === 0) {
    if (a.next === 0) return { delayMs: equalJitter(opts.pollMs), spins: a.spins + 1 };
    return { delayMs: random() * opts.jitterMs, spins: a.spins };
  }
  if (a.next > a.sent || a.elapsedMs >= opts.minBlockMs) return { delayMs: random() * opts.jitterMs, spins: 0 };
  const spins = a.spins + 1;
  return { delayMs: equalJitter(Math.min(opts.pollMs, 50 * 2 ** Math.min(spins - 1, 20))), spins };
}
