import { describe, expect, it } from 'vitest';
import type { Expr } from './ast.js';
import { parse } from './parser.js';

const m = (selector: string[], op: string, value?: string): Expr => ({ kind: 'match', selector, op, value }) as Expr;

describe('parse: match expressions', () => {
  it.each([
    ['Service == web', m(['Service'], 'eq', 'web')],
    ['Service==web', m(['Service'], 'eq', 'web')],
    ['Service != "web"', m(['Service'], 'ne', 'web')],
    ['Tags contains v2', m(['Tags'], 'in', 'v2')],
    ['Tags not contains v2', m(['Tags'], 'notIn', 'v2')],
    ['v2 in Tags', m(['Tags'], 'in', 'v2')],
    ['"v2" not in Tags', m(['Tags'], 'notIn', 'v2')],
    ['Meta is empty', m(['Meta'], 'isEmpty')],
    ['Meta is not empty', m(['Meta'], 'isNotEmpty')],
    ['Name matches "^web-[0-9]+$"', m(['Name'], 'matches', '^web-[0-9]+$')],
    ['Name not matches `^web`', m(['Name'], 'notMatches', '^web')],
  ])('%s', (src, expected) => {
    expect(parse(src)).toEqual(expected);
  });

  it('reads dotted and bracketed selectors, including keys no identifier could spell', () => {
    expect(parse('Node.Meta.env == prod')).toEqual(m(['Node', 'Meta', 'env'], 'eq', 'prod'));
    expect(parse('Node.Meta["rack.id"] == r1')).toEqual(m(['Node', 'Meta', 'rack.id'], 'eq', 'r1'));
    expect(parse('Node.Meta[ `team/owner` ].x == y')).toEqual(m(['Node', 'Meta', 'team/owner', 'x'], 'eq', 'y'));
    expect(parse('"x" in Node.Meta["a b"]')).toEqual(m(['Node', 'Meta', 'a b'], 'in', 'x'));
  });

  it('keeps numbers as written, and a selector used as a value as its dotted text', () => {
    expect(parse('Port == 8080')).toEqual(m(['Port'], 'eq', '8080'));
    expect(parse('Weight == -1.50')).toEqual(m(['Weight'], 'eq', '-1.50'));
    expect(parse('(Port == 0)')).toEqual(m(['Port'], 'eq', '0'));
    expect(parse('Flag == true')).toEqual(m(['Flag'], 'eq', 'true'));
    expect(parse('A == b.c["d"]')).toEqual(m(['A'], 'eq', 'b.c.d'));
  });

  it('decodes double-quoted escapes and leaves backtick strings raw', () => {
    expect(parse('A == "a\\tb\\n\\\\\\u00e9\\x41\\101\\U0001F600"')).toEqual(m(['A'], 'eq', 'a\tb\n\\éAA😀'));
    expect(parse('A == "say \\"hi\\""')).toEqual(m(['A'], 'eq', 'say "hi"'));
    expect(parse('A == `a\\tb "q"`')).toEqual(m(['A'], 'eq', 'a\\tb "q"'));
    expect(parse('A == `line1\r\nline2`')).toEqual(m(['A'], 'eq', 'line1\nline2'));
    expect(parse('A == ""')).toEqual(m(['A'], 'eq', ''));
  });

  it('treats keywords as names where the grammar expects a name', () => {
    expect(parse('not == 1')).toEqual(m(['not'], 'eq', '1'));
    expect(parse('nota == 1')).toEqual(m(['nota'], 'eq', '1'));
    expect(parse('A == and')).toEqual(m(['A'], 'eq', 'and'));
    expect(parse('not not in x')).toEqual({ kind: 'not', operand: m(['x'], 'in', 'not') });
    expect(parse('order == or')).toEqual(m(['order'], 'eq', 'or'));
  });

  it('ignores whitespace around the expression and between tokens', () => {
    expect(parse(' \t\n A  ==\tb \r\n')).toEqual(m(['A'], 'eq', 'b'));
  });
});

describe('parse: boolean structure', () => {
  const a = m(['a'], 'eq', '1');
  const b = m(['b'], 'eq', '2');
  const c = m(['c'], 'eq', '3');

  it('binds not tighter than and, and tighter than or', () => {
    expect(parse('a == 1 and not b == 2 or c == 3')).toEqual({
      kind: 'or',
      operands: [{ kind: 'and', operands: [a, { kind: 'not', operand: b }] }, c],
    });
    expect(parse('a == 1 or b == 2 and c == 3')).toEqual({ kind: 'or', operands: [a, { kind: 'and', operands: [b, c] }] });
  });

  it('lets parentheses override precedence', () => {
    expect(parse('(a == 1 or b == 2) and c == 3')).toEqual({ kind: 'and', operands: [{ kind: 'or', operands: [a, b] }, c] });
    expect(parse('not (a == 1 or b == 2)')).toEqual({ kind: 'not', operand: { kind: 'or', operands: [a, b] } });
    expect(parse('((( a == 1 )))')).toEqual(a);
  });

  it('flattens chains and cancels double negation', () => {
    expect(parse('a == 1 and b == 2 and c == 3')).toEqual({ kind: 'and', operands: [a, b, c] });
    expect(parse('not not a == 1')).toEqual(a);
  });
});
