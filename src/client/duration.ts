import { invalidOption } from './client-error.js';

/** A duration: milliseconds as a number, or a Go duration string such as `"10s"`, `"1m30s"`, `"250ms"`. */
export type Duration = number | string;

/** Nanoseconds per unit, as Go's time package: both micro signs (U+00B5, U+03BC) mean µs. */
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n,
  '\u03bcs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
/** Go's time.Duration is an int64 of nanoseconds (about 292 years). */
const MAX_NS = (1n << 63n) - 1n;
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * Parses a duration exactly as Go's `time.ParseDuration` does — `[-+]?([0-9]*(\.[0-9]*)?unit)+`
 * with units ns, us, µs, μs, ms, s, m, h, or a bare `"0"`; `".5s"` and `"1.s"` are durations,
 * `"10"` (no unit) is not — except that surrounding whitespace is ignored and a negative
 * duration is refused (nothing in Beacon waits a negative time). Returns milliseconds
 * (fractions of a millisecond kept, to the nanosecond), or undefined when `text` is not a duration.
 *
 * The one duration parser of Beacon: the SDK's options, the server's config, query parameters and
 * request bodies all go through it.
 *
 * @example
 * parseGoDuration('1m30s'); // 90000
 * parseGoDuration('1.5h');  // 5400000
 * parseGoDuration('-1s');   // undefined
 *
 * @internal Exported for Beacon's server; not part of the SDK's stable API.
 */
export function parseGoDuration(text: string): number | undefined {
  const ns = goDurationNs(text.trim());
  return ns === undefined || ns < 0n ? undefined : Number(ns) / 1e6;
}

/** Go's time.ParseDuration, in nanoseconds (negative allowed here); undefined on error. */
function goDurationNs(s: string): bigint | undefined {
  let i = 0;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i = 1;
  }
  if (s.length - i === 1 && s[i] === '0') return 0n;
  if (i === s.length) return undefined;
  let total = 0n;
  while (i < s.length) {
    if (s[i] !== '.' && !isDigit(s[i])) return undefined;
    // [0-9]*: an overflow is an error.
    const intStart = i;
    let v = 0n;
    for (; isDigit(s[i]); i++) {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > 1n << 63n) return undefined;
    }
    const pre = i > intStart;
    // (\.[0-9]*)?: past int64's precision further digits are ignored, as in Go.
    let f = 0n;
    let scale = 1n;
    let post = false;
    if (s[i] === '.') {
      i++;
      const fracStart = i;
      let full = false;
      for (; isDigit(s[i]); i++) {
        if (full) continue;
        const y = f * 10n + BigInt(s.charCodeAt(i) - 48);
        if (y > MAX_NS) full = true;
        else {
          f = y;
          scale *= 10n;
        }
      }
      post = i > fracStart;
    }
    if (!pre && !post) return undefined; // ".s", "."
    // The unit runs to the next digit or '.'.
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !isDigit(s[i])) i++;
    const unit = UNIT_NS[s.slice(unitStart, i)];
    if (unit === undefined) return undefined; // missing or unknown unit
    total += v * unit + (f * unit) / scale;
    if (total > 1n << 63n) return undefined;
  }
  if (neg) return -total;
  return total > MAX_NS ? undefined : total;
}

/**
 * Converts a {@link Duration} to milliseconds: a number is milliseconds already, a string is
 * read by {@link parseGoDuration}. Throws `BEACON_ERR_VALIDATION` naming `field` when the value
 * is negative, not finite or not a Go duration.
 */
export function toMs(value: Duration, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalidOption(`${field} must be a non-negative number of milliseconds, got ${value}`);
    return value;
  }
  const ms = typeof value === 'string' ? parseGoDuration(value) : undefined;
  if (ms === undefined) throw invalidOption(`${field} must be a duration such as "10s" or "250ms", got ${JSON.stringify(value)}`);
  return ms;
}

/** Formats milliseconds as a Go duration string the Consul API accepts, e.g. `1500` → `"1500ms"`. */
export function toGoDuration(ms: number): string {
  return `${Math.max(0, Math.round(ms))}ms`;
}
