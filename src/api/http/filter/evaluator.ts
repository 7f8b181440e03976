import { selectorText, type Expr, type MatchNode } from './ast.js';
import { filterError } from './errors.js';
import { checkOperator, resolveSelector, type FieldSpec, type Step } from './field-spec.js';
import { compileLeaf, type Leaf, type Pred } from './leaf.js';

/**
 * Builds the walk down a selector. At each step an object yields its own property (or the
 * step's Go zero value when a typed field is absent or null); a list met on the way is
 * searched, matching when ANY element matches, as bexpr does for slices (so
 * `Checks.Status != passing` holds when some check is not passing, and never for no checks);
 * anything else means the selector found nothing.
 */
function walker(selector: readonly string[], steps: readonly Step[], leaf: Leaf): Pred {
  let next: Pred = leaf.test;
  const missing = leaf.missing;
  for (let i = selector.length - 1; i >= 0; i--) {
    const key = selector[i];
    const zero = steps[i].zero;
    const child = next;
    const step: Pred = (v) => {
      if (v === null || typeof v !== 'object') return missing;
      if (Array.isArray(v)) {
        for (let j = 0; j < v.length; j++) if (step(v[j])) return true;
        return false;
      }
      const found = Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
      if (found === undefined || found === null) return zero === undefined ? missing : child(zero);
      return child(found);
    };
    next = step;
  }
  return next;
}

function compileMatch(node: MatchNode, spec: FieldSpec | undefined): Pred {
  const resolved = resolveSelector(spec, node.selector);
  if (typeof resolved === 'string') throw filterError(resolved);
  const opError = checkOperator(resolved.type, node.op, node.selector);
  if (opError) throw filterError(opError);
  const leaf = compileLeaf(node.op, node.value, resolved.type, selectorText(node.selector));
  if (typeof leaf === 'string') throw filterError(leaf);
  return walker(node.selector, resolved.steps, leaf);
}

/** Compiles an expression to a predicate made of closures; nothing is parsed or looked up per call. */
export function compileExpr(expr: Expr, spec: FieldSpec | undefined): Pred {
  switch (expr.kind) {
    case 'match':
      return compileMatch(expr, spec);
    case 'not': {
      const operand = compileExpr(expr.operand, spec);
      return (v) => !operand(v);
    }
    case 'and':
    case 'or': {
      const parts = expr.operands.map((e) => compileExpr(e, spec));
      const isAnd = expr.kind === 'and';
      if (parts.length === 2) {
        const [a, b] = parts as [Pred, Pred];
        return isAnd ? (v) => a(v) && b(v) : (v) => a(v) || b(v);
      }
      return (v) => {
        for (const part of parts) if (part(v) !== isAnd) return !isAnd;
        return isAnd;
      };
    }
  }
}
