/**
 * The parsed form of a filter expression, as go-bexpr builds it: boolean nodes over match
 * expressions. A match names a selector path, an operator and (except for the emptiness
 * checks) the raw text of its value, coerced later against the selected field's type.
 */

/** Match operators; `contains` parses to `in` and `not contains` to `notIn`, as in bexpr. */
export type MatchOp = 'eq' | 'ne' | 'in' | 'notIn' | 'isEmpty' | 'isNotEmpty' | 'matches' | 'notMatches';

export interface MatchNode {
  readonly kind: 'match';
  readonly selector: readonly string[];
  readonly op: MatchOp;
  /** Raw value text (strings unquoted, numbers and bare identifiers as written). */
  readonly value: string | undefined;
}

export interface NotNode {
  readonly kind: 'not';
  readonly operand: Expr;
}

export interface BoolNode {
  readonly kind: 'and' | 'or';
  readonly operands: readonly Expr[];
}

export type Expr = MatchNode | NotNode | BoolNode;

/** bexpr's names for the operators, used in its error messages (`Invalid match operator "In" …`). */
export const OP_NAMES: Readonly<Record<MatchOp, string>> = {
  eq: 'Equal',
  ne: 'Not Equal',
  in: 'In',
  notIn: 'Not In',
  isEmpty: 'Is Empty',
  isNotEmpty: 'Is Not Empty',
  matches: 'Matches',
  notMatches: 'Not Matches',
};

/** The selector as bexpr prints it: its parts joined with dots. */
export function selectorText(selector: readonly string[]): string {
  return selector.join('.');
}
