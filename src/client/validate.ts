/**
 * The checks every SDK option and argument goes through: known keys only (with a suggestion for
 * a misspelled one), numbers inside their documented range, and the right types. Each failure is
 * a `BEACON_ERR_VALIDATION` whose message names the option and says what to pass instead; nothing
 * is clamped or ignored silently.
 */
import { invalidOption } from './client-error.js';

/** Levenshtein distance, with a cut-off: anything above `max` is reported as `max + 1`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` (case, `-` and `_` ignored, then at most a third of its letters
 * different, or a candidate it begins), or undefined when none is close enough to be a likely typo.
 *
 * @example
 * didYouMean('server', ['servers', 'token']); // 'servers'
 * didYouMean('Chek', ['Name', 'Check']);     // 'Check'
 *
 * @internal Shared with Beacon's CLI; not part of the SDK's stable API.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const fold = (s: string) => s.replace(/[-_]/g, '').toLowerCase();
  const w = fold(word);
  const max = Math.max(1, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestD = max + 1;
  for (const c of candidates) {
    const f = fold(c);
    // A word cut short (`base` for `baseMs`) is as likely a slip as one wrong letter.
    const d = f === w ? 0 : w.length >= 3 && f.startsWith(w) ? 1 : distance(w, f, max);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/** `" (did you mean X?)"` for the closest candidate, or `''`. */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : ` (did you mean ${s}?)`;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/**
 * Checks that `value` is a plain object whose keys are all in `allowed`; `where` names it in the
 * message (`'BeaconClient options'`, `'dns'`, `'register: check'`). Keys set to undefined count
 * as absent.
 */
export function knownKeys(value: unknown, allowed: readonly string[], where: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidOption(`${where} must be an object, got ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || allowed.includes(key)) continue;
    throw invalidOption(`${where}: unknown option "${key}"${suggestion(key, allowed)}; the options are ${allowed.join(', ')}`);
  }
  return value;
}

/** A short description of a value for error messages: `"10s"`, `-1`, `an array`, `null`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'symbol') return value.toString();
  return `${value as number | boolean | bigint}`;
}

export interface NumberRange {
  readonly min: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** How the unit reads in messages, e.g. `'ms'`. */
  readonly unit?: string;
}

/** A number option: `def` when undefined, otherwise it must be a finite number in range. */
export function numberOption(value: unknown, name: string, def: number, range: NumberRange): number {
  if (value === undefined) return def;
  const { min, max = Infinity, integer = false, unit = '' } = range;
  const bounds = max === Infinity ? `at least ${min}${unit}` : `from ${min}${unit} to ${max}${unit}`;
  const kind = integer ? 'an integer' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max)
    throw invalidOption(`${name} must be ${kind} ${bounds}, got ${describe(value)}`);
  return value;
}

/** A boolean option: `def` when undefined. */
export function booleanOption(value: unknown, name: string, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') throw invalidOption(`${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** A string option that must not be empty: undefined when not given. */
export function stringOption(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalidOption(`${name} must be a non-empty string, got ${describe(value)}`);
  return value;
}
