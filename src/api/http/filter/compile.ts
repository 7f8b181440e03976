import { filterError } from './errors.js';
import { compileExpr } from './evaluator.js';
import type { FieldSpec } from './field-spec.js';
import { parse } from './parser.js';

/** Longest expression accepted, in characters. */
export const MAX_EXPRESSION_LENGTH = 4096;

export interface CompileFilterOptions {
  /**
   * The shape of the items filtered. With it, selectors naming no field, operators the
   * field does not take and values that do not coerce are rejected, as Consul does; without
   * it any selector is accepted and one that finds nothing counts as missing (`==`, `in`,
   * `matches`, `is not empty` are false; `!=`, `not in`, `not matches`, `is empty` are true).
   */
  readonly fields?: FieldSpec;
}

/**
 * Compiles a Consul `?filter=` expression (go-bexpr syntax) once into a predicate to run on
 * each result item. The empty expression matches everything, as in Consul.
 *
 * @throws BeaconError `BEACON_ERR_VALIDATION` (field `filter`) for a bad expression, with
 *   Consul's message, e.g. `Failed to create boolean expression evaluator: 1:4 (3): no match
 *   found, expected: "!=", ".", "==", …` or `… Selector "Service.Foo" is not valid`.
 *
 * @example
 * const keep = compileFilter('Service.Tags contains "v2" and Service.Meta.env == prod');
 * const healthy = entries.filter(keep);
 */
export function compileFilter(expression: string, options: CompileFilterOptions = {}): (value: unknown) => boolean {
  if (typeof expression !== 'string') throw filterError('the expression must be a string');
  if (expression === '') return () => true;
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw filterError(`expression is ${expression.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`);
  }
  return compileExpr(parse(expression), options.fields);
}
