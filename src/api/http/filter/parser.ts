import type { Expr, MatchNode, MatchOp } from './ast.js';
import { parseError } from './errors.js';
import { Scanner } from './scanner.js';
import { readSelector, readValue } from './tokens.js';

/** Deepest nesting of parentheses and `not`s an expression may have. */
export const MAX_DEPTH = 64;

/**
 * Parses a filter expression into its AST, following go-bexpr's grammar (grammar.peg):
 *
 *     Or    <- And (_ "or" _ And)*            And <- Not (_ "and" _ Not)*
 *     Not   <- "not" _ Not / "(" _? Or _? ")" / Match
 *     Match <- Selector (_?"=="_? / _?"!="_? / _"contains"_ / _"not"_"contains"_
 *                        / _"matches"_ / _"not"_"matches"_) Value
 *            / Selector (_"is"_"empty" / _"is"_"not"_"empty")
 *            / Value (_"in"_ / _"not"_"in"_) Selector
 *     Selector <- Ident ("." Ident / "[" _? String _? "]")*     Ident <- [a-zA-Z][a-zA-Z0-9_]*
 *     Value    <- Selector / Number / String
 *
 * Keywords need whitespace around them (`a == 1 and b == 2`, not `(a == 1)and(…)`), as in
 * bexpr. The parser is deterministic (no re-parsing on failure), so time is linear in the
 * input. Throws a BeaconError with the position of the problem.
 */
export function parse(src: string): Expr {
  return new Parser(src).parseInput();
}

class Parser {
  private readonly s: Scanner;
  private depth = 0;

  constructor(private readonly src: string) {
    this.s = new Scanner(src);
  }

  parseInput(): Expr {
    const s = this.s;
    s.ws();
    const expr = this.parseOr();
    if (!expr) throw s.noMatch();
    s.ws();
    if (!s.atEnd) {
      s.expect('end of input');
      throw s.noMatch();
    }
    return expr;
  }

  private parseOr(): Expr | undefined {
    return this.parseChain('or', () => this.parseAnd());
  }

  private parseAnd(): Expr | undefined {
    return this.parseChain('and', () => this.parseNot());
  }

  private parseChain(word: 'and' | 'or', next: () => Expr | undefined): Expr | undefined {
    const first = next();
    if (!first) return undefined;
    const operands = [first];
    for (;;) {
      const save = this.s.pos;
      if (this.s.spacedWord(word) && this.s.ws()) {
        const right = next();
        if (right) {
          operands.push(right);
          continue;
        }
      }
      this.s.pos = save;
      break;
    }
    return operands.length === 1 ? first : { kind: word, operands };
  }

  /** Counts one more level of nesting, which opened at `at`. */
  private enter(at: number): void {
    if (++this.depth > MAX_DEPTH) throw parseError(this.src, at, `expression nests deeper than ${MAX_DEPTH} levels`);
  }

  private parseNot(): Expr | undefined {
    const s = this.s;
    const save = s.pos;
    if (s.literal('not') && s.ws()) {
      this.enter(save);
      const operand = this.parseNot();
      this.depth--;
      if (operand) return operand.kind === 'not' ? operand.operand : { kind: 'not', operand };
    }
    s.pos = save;
    return this.parseGroup();
  }

  private parseGroup(): Expr | undefined {
    const s = this.s;
    const open = s.pos;
    if (!s.literal('(')) return this.parseMatch();
    this.enter(open);
    s.ws();
    const inner = this.parseOr();
    this.depth--;
    if (!inner) return undefined;
    s.ws();
    if (!s.literal(')')) throw s.ruleError('grouping', 'Unmatched parentheses');
    return inner;
  }

  private parseMatch(): MatchNode | undefined {
    const s = this.s;
    const start = s.pos;
    const selector = readSelector(this.s);
    if (selector) {
      const afterSelector = s.pos;
      const op = this.parseValueOp();
      if (op) {
        const value = readValue(this.s);
        if (value !== undefined) return { kind: 'match', selector, op, value };
      }
      s.pos = afterSelector;
      const emptiness = this.parseEmptinessOp();
      if (emptiness) return { kind: 'match', selector, op: emptiness, value: undefined };
      s.pos = start;
    }
    const value = readValue(this.s);
    if (value === undefined) return undefined;
    const op = this.parseInOp();
    if (!op) {
      s.pos = start;
      return undefined;
    }
    const target = readSelector(this.s);
    if (!target) throw s.ruleError('match', 'Invalid selector');
    return { kind: 'match', selector: target, op, value };
  }

  /** `==`, `!=`, `contains`, `not contains`, `matches`, `not matches` (each with its spacing). */
  private parseValueOp(): MatchOp | undefined {
    const s = this.s;
    const save = s.pos;
    for (const [text, op] of [
      ['==', 'eq'],
      ['!=', 'ne'],
    ] as const) {
      s.ws();
      if (s.literal(text)) {
        s.ws();
        return op;
      }
      s.pos = save;
    }
    for (const [words, op] of [
      [['contains'], 'in'],
      [['not', 'contains'], 'notIn'],
      [['matches'], 'matches'],
      [['not', 'matches'], 'notMatches'],
    ] as const) {
      if (words.every((w) => s.spacedWord(w)) && s.ws()) return op;
      s.pos = save;
    }
    return undefined;
  }

  private parseEmptinessOp(): MatchOp | undefined {
    const s = this.s;
    const save = s.pos;
    if (s.spacedWord('is') && s.spacedWord('empty')) return 'isEmpty';
    s.pos = save;
    if (s.spacedWord('is') && s.spacedWord('not') && s.spacedWord('empty')) return 'isNotEmpty';
    s.pos = save;
    return undefined;
  }

  private parseInOp(): MatchOp | undefined {
    const s = this.s;
    const save = s.pos;
    if (s.spacedWord('in') && s.ws()) return 'in';
    s.pos = save;
    if (s.spacedWord('not') && s.spacedWord('in') && s.ws()) return 'notIn';
    s.pos = save;
    return undefined;
  }
}
