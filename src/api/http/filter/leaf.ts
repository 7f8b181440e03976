import type { MatchOp } from './ast.js';
import { coerceBool, coerceFloat, coerceInt, coerceNumber, type Coerced } from './coerce.js';
import { isScalar, type FieldType, type ScalarType } from './field-spec.js';
import { compilePattern } from './regex.js';

/** A test on one value. */
export type Pred = (value: unknown) => boolean;

/** A compiled match operator: the test at the end of the selector, and the answer when the selector finds nothing. */
export interface Leaf {
  readonly test: Pred;
  readonly missing: boolean;
}

/** The type values are coerced to: the field's own scalar type, or a list's element type. */
function coercionType(type: FieldType): ScalarType | undefined {
  if (isScalar(type)) return type;
  if (typeof type === 'object' && 'list' in type && isScalar(type.list)) return type.list;
  return undefined;
}

function coerceAs(type: ScalarType, raw: string): Coerced<string | number | boolean> {
  switch (type) {
    case 'string':
      return { ok: true, value: raw };
    case 'bool':
      return coerceBool(raw);
    case 'int':
      return coerceInt(raw);
    case 'uint':
      return coerceInt(raw, true);
    case 'float':
      return coerceFloat(raw);
  }
}

/**
 * Equality against the raw value, whatever the JSON type met: strings compare as text,
 * numbers and booleans against the value coerced as Go would. A typed field coerces once,
 * here; an undescribed one tries number and boolean forms and never matches if they fail.
 */
function equality(raw: string, typed: string | number | boolean | undefined): Pred {
  const num = typeof typed === 'number' ? typed : coerceNumber(raw);
  const boolResult = coerceBool(raw);
  const bool = typeof typed === 'boolean' ? typed : boolResult.ok ? boolResult.value : undefined;
  return (v) => (typeof v === 'string' ? v === raw : typeof v === 'number' ? v === num : typeof v === 'boolean' && v === bool);
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
  if (typeof v !== 'object') return false;
  for (const key in v) if (Object.hasOwn(v, key)) return false;
  return true;
}

function positive(op: MatchOp): 'eq' | 'in' | 'isEmpty' | 'matches' {
  return op === 'ne' ? 'eq' : op === 'notIn' ? 'in' : op === 'isNotEmpty' ? 'isEmpty' : op === 'notMatches' ? 'matches' : op;
}

/**
 * Compiles one match operator for a field of `type` ('any' when unknown), or returns the
 * error text (a value that does not coerce, a bad regular expression).
 */
export function compileLeaf(op: MatchOp, raw: string | undefined, type: FieldType, selector: string): Leaf | string {
  const base = positive(op);
  let typed: string | number | boolean | undefined;
  const target = coercionType(type);
  if (raw !== undefined && target && base !== 'matches') {
    const coerced = coerceAs(target, raw);
    if (!coerced.ok) return `Failed to coerce value ${JSON.stringify(raw)} for selector ${JSON.stringify(selector)}: ${coerced.error}`;
    typed = coerced.value;
  }
  let test: Pred;
  if (base === 'isEmpty') {
    test = isEmpty;
  } else if (base === 'matches') {
    const compiled = compilePattern(raw ?? '');
    if (!compiled.ok) return `Failed to compile regular expression ${JSON.stringify(raw)}: ${compiled.error}`;
    const re = compiled.re;
    test = (v) => typeof v === 'string' && re.test(v);
  } else {
    const eq = equality(raw ?? '', typed);
    const key = raw ?? '';
    test =
      base === 'eq'
        ? eq
        : (v) => {
            if (typeof v === 'string') return v.includes(key);
            if (Array.isArray(v)) return v.some(eq);
            return v !== null && typeof v === 'object' && Object.hasOwn(v, key);
          };
  }
  if (base === op) return { test, missing: base === 'isEmpty' };
  return { test: (v) => !test(v), missing: base !== 'isEmpty' };
}
