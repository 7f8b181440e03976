/**
 * Go's strconv parsing, which bexpr uses to coerce a value's raw text to the selected field's
 * type (`Port == 8080`, `EnableTagOverride == true`). Each returns the value, or the error
 * text Go would give (it ends up in the 400 message).
 */

import { parseBool } from '../../../config/index.js';

export type Coerced<T> = { ok: true; value: T } | { ok: false; error: string };

const INT_FORMS: readonly RegExp[] = [
  /^0[xX](_?[0-9a-fA-F])+$/,
  /^0[bB](_?[01])+$/,
  /^0[oO](_?[0-7])+$/,
  /^0(_?[0-7])*$/, // 0, and legacy octal such as 0755
  /^[1-9](_?[0-9])*$/,
];
const FLOAT_FORM = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function fail<T>(fn: string, raw: string, why: string): Coerced<T> {
  return { ok: false, error: `strconv.${fn}: parsing ${JSON.stringify(raw)}: ${why}` };
}

/** strconv.ParseBool. */
export function coerceBool(raw: string): Coerced<boolean> {
  const value = parseBool(raw);
  if (value !== undefined) return { ok: true, value };
  return fail('ParseBool', raw, 'invalid syntax');
}

/** strconv.ParseInt(raw, 0, 64) or, with `unsigned`, strconv.ParseUint(raw, 0, 64). */
export function coerceInt(raw: string, unsigned = false): Coerced<number> {
  const fn = unsigned ? 'ParseUint' : 'ParseInt';
  let body = raw;
  let negative = false;
  if (!unsigned && (body.startsWith('-') || body.startsWith('+'))) {
    negative = body.startsWith('-');
    body = body.slice(1);
  }
  if (!INT_FORMS.some((form) => form.test(body))) return fail(fn, raw, 'invalid syntax');
  let digits = body.replaceAll('_', '');
  if (/^0[0-7]+$/.test(digits)) digits = `0o${digits.slice(1)}`;
  let value = BigInt(digits);
  if (negative) value = -value;
  const [min, max] = unsigned ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
  if (value < min || value > max) return fail(fn, raw, 'value out of range');
  return { ok: true, value: Number(value) };
}

/** strconv.ParseFloat(raw, 64), for decimal forms, `inf`, `infinity` and `nan`. */
export function coerceFloat(raw: string): Coerced<number> {
  if (!FLOAT_FORM.test(raw)) return fail('ParseFloat', raw, 'invalid syntax');
  const word = raw.replace(/^[+-]/, '').toLowerCase();
  if (word === 'nan') return { ok: true, value: NaN };
  const sign = raw.startsWith('-') ? -1 : 1;
  if (word === 'inf' || word === 'infinity') return { ok: true, value: sign * Infinity };
  const value = Number(raw);
  if (!Number.isFinite(value)) return fail('ParseFloat', raw, 'value out of range');
  return { ok: true, value };
}

/** For a JSON number of unknown Go type: an integer form first (as for int fields), else a float. */
export function coerceNumber(raw: string): number | undefined {
  const asInt = coerceInt(raw);
  if (asInt.ok) return asInt.value;
  const asFloat = coerceFloat(raw);
  return asFloat.ok ? asFloat.value : undefined;
}
