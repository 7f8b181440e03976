import { parseGoDuration } from '../client/index.js';

/** Go's time.Duration limit: int64 nanoseconds. */
const MAX_NS = 2 ** 63 - 1;

/**
 * Parses a duration as Consul takes them, into milliseconds (fractions of a millisecond kept):
 * a Go duration string read by the SDK's `parseGoDuration` ("10s", "1m30s", "120000ms", "1.5h",
 * ".5s", "300us"), a JSON number of nanoseconds (Consul's API and config files), or a string of
 * digits meaning nanoseconds. Undefined when it is none of these, negative, or beyond Go's
 * range (about 292 years).
 *
 * @example
 * parseDuration('1m30s');        // 90000
 * parseDuration(120_000_000_000); // 120000
 * parseDuration('-5s');          // undefined
 */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 && input <= MAX_NS ? input / 1e6 : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const s = input.trim();
  if (/^\d+$/.test(s)) {
    const ns = Number(s);
    return ns <= MAX_NS ? ns / 1e6 : undefined;
  }
  return parseGoDuration(s);
}

/** Formats milliseconds as a Go duration string ("10s", "1m30s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms * 1e3) / 1e3}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = Math.round(rest * 1e3) / 1e3;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec}s`;
}
