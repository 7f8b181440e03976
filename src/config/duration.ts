/**
 * Go-syntax durations as Consul takes them: "10s", "1m30s", "120000ms", "1.5h", "300us", or a
 * plain integer meaning nanoseconds. Returns milliseconds (fractional below 1 ms is kept).
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses a duration; undefined when it is not one. Negative durations are refused. */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? input / 1e6 : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const s = input.trim();
  if (s === '') return undefined;
  if (s === '0') return 0;
  if (/^\d+$/.test(s)) return Number(s) / 1e6;
  if (s.length > 64) return undefined;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  return Number.isFinite(total) ? total : undefined;
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
