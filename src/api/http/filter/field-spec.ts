import { OP_NAMES, selectorText, type MatchOp } from './ast.js';

/** Scalar field types, as Go's kinds: strings, booleans, signed and unsigned integers, floats. */
export type ScalarType = 'string' | 'bool' | 'int' | 'uint' | 'float';

/**
 * The type of one field of the items a filter runs over, after the Go types Consul filters:
 * a scalar; `{ map: T }` for `map[string]T` (select a key with `.key` or `["key"]`; `in`
 * tests keys); `{ list: T }` for `[]T` (a list of scalars takes `in`; selecting a field of
 * a list of objects matches when ANY element matches); `{ fields: FieldSpec }` for a nested
 * object; `'any'` for a field whose shape is not described (anything below it is accepted
 * and evaluated as in a filter with no spec).
 */
export type FieldType = ScalarType | 'any' | { readonly map: FieldType } | { readonly list: FieldType } | { readonly fields: FieldSpec };

/**
 * The shape of the items a filter runs over: their field names (PascalCase, as in the JSON)
 * and types. With a spec, `compileFilter` rejects selectors that name no field, operators
 * the field's type does not take and values that do not coerce to it — as Consul does.
 *
 * @example
 * const node: FieldSpec = { Node: 'string', Address: 'string', Meta: { map: 'string' } };
 */
export interface FieldSpec {
  readonly [field: string]: FieldType;
}

const SCALAR_OPS: readonly MatchOp[] = ['eq', 'ne'];
const STRING_OPS: readonly MatchOp[] = ['eq', 'ne', 'in', 'notIn', 'matches', 'notMatches'];
const MAP_OPS: readonly MatchOp[] = ['isEmpty', 'isNotEmpty', 'in', 'notIn'];
const SCALAR_LIST_OPS: readonly MatchOp[] = ['in', 'notIn', 'isEmpty', 'isNotEmpty'];
const LIST_OPS: readonly MatchOp[] = ['isEmpty', 'isNotEmpty'];

export function isScalar(type: FieldType): type is ScalarType {
  return typeof type === 'string' && type !== 'any';
}

/** Operators a field of this type takes (bexpr's SupportedOperations). */
export function supportedOps(type: FieldType): readonly MatchOp[] | 'all' {
  if (type === 'any') return 'all';
  if (type === 'string') return STRING_OPS;
  if (isScalar(type)) return SCALAR_OPS;
  if ('map' in type) return MAP_OPS;
  if ('list' in type) return isScalar(type.list) ? SCALAR_LIST_OPS : LIST_OPS;
  return [];
}

/** One step of a resolved selector. */
export interface Step {
  /**
   * The value an absent or null field of an object has in Go (`""`, `0`, `false`, `[]`), which
   * the step uses in its place; undefined when absence means "missing" (map keys, unknown shapes).
   */
  readonly zero: unknown;
}

export interface Resolved {
  /** Type at the end of the selector; 'any' when not known. */
  readonly type: FieldType;
  readonly steps: readonly Step[];
}

function zeroOf(type: FieldType): unknown {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (type === 'int' || type === 'uint' || type === 'float') return 0;
  if (typeof type === 'object' && 'list' in type) return [];
  return undefined;
}

/**
 * Resolves a selector against a spec, or returns bexpr's error text
 * (`Selector "Service.Foo" is not valid`). Lists on the way are stepped through (a selector
 * into a list of objects names a field of its elements). Without a spec every selector
 * resolves to 'any'.
 */
export function resolveSelector(spec: FieldSpec | undefined, selector: readonly string[]): Resolved | string {
  let type: FieldType = spec ? { fields: spec } : 'any';
  const steps: Step[] = [];
  for (let i = 0; i < selector.length; i++) {
    let container: FieldType = type;
    while (typeof container === 'object' && 'list' in container) container = container.list;
    if (container === 'any') {
      type = 'any';
      steps.push({ zero: undefined });
    } else if (typeof container === 'object' && 'map' in container) {
      type = container.map;
      steps.push({ zero: undefined });
    } else if (typeof container === 'object' && 'fields' in container && Object.hasOwn(container.fields, selector[i])) {
      type = container.fields[selector[i]]!;
      steps.push({ zero: zeroOf(type) });
    } else {
      return `Selector ${JSON.stringify(selectorText(selector.slice(0, i + 1)))} is not valid`;
    }
  }
  return { type, steps };
}

/** bexpr's error when an operator does not fit the field, or undefined when it does. */
export function checkOperator(type: FieldType, op: MatchOp, selector: readonly string[]): string | undefined {
  const ops = supportedOps(type);
  if (ops === 'all' || ops.includes(op)) return undefined;
  return `Invalid match operator ${JSON.stringify(OP_NAMES[op])} for selector ${JSON.stringify(selectorText(selector))}`;
}
