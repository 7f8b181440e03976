import { invalidOption } from './client-error.js';

/** A duration: milliseconds as a number, or a Go duration string such as `"10s"`, `"1m30s"`, `"250ms"`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;

/**
 * Converts a {@link Duration} to milliseconds. Throws `BEACON_ERR_VALIDATION` naming `field`
 * when the value is negative, not finite or not a Go duration.
 */
export function toMs(value: Duration, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalidOption(`${field} must be a non-negative number of milliseconds, got ${value}`);
    return value;
  }
  const text = value.trim();
  if (text === '0') return 0;
  PART.lastIndex = 0;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = PART.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = PART.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw invalidOption(`${field} must be a duration such as "10s" or "250ms", got ${JSON.stringify(value)}`);
  }
  return total;
}

/** Formats milliseconds as a Go duration string the Consul API accepts, e.g. `1500` → `"1500ms"`. */
export function toGoDuration(ms: number): string {
  return `${Math.max(0, Math.round(ms))}ms`;
}
