import type { Scanner } from './scanner.js';
import { decodeDoubleQuoted, decodeRaw } from './strings.js';

/**
 * The lexical rules of bexpr's grammar — identifiers, selectors, values, numbers, strings —
 * as readers over the scanner. Each consumes its token and returns it, or leaves the
 * position alone and returns undefined; the rule errors bexpr raises itself (bad index,
 * bad number, unterminated string) are thrown.
 */

const IDENT_START = /[a-zA-Z]/;
const IDENT_PART = /[a-zA-Z0-9_]/;
const DIGIT = /[0-9]/;
const WS = /[ \t\r\n]/;

/** [a-zA-Z] [a-zA-Z0-9_]* */
function readIdentifier(s: Scanner): string | undefined {
  const start = s.pos;
  if (!IDENT_START.test(s.peek() ?? '')) {
    s.expect('[a-zA-Z]');
    return undefined;
  }
  s.pos++;
  while (IDENT_PART.test(s.peek() ?? '')) s.pos++;
  s.expect('[a-zA-Z0-9_]');
  return s.src.slice(start, s.pos);
}

/** Identifier ("." Identifier / "[" _? String _? "]")* — as its path of names. */
export function readSelector(s: Scanner): string[] | undefined {
  const first = readIdentifier(s);
  if (first === undefined) return undefined;
  const path = [first];
  for (;;) {
    if (s.peek() === '.') {
      s.pos++;
      const ident = readIdentifier(s);
      if (ident !== undefined) {
        path.push(ident);
        continue;
      }
      s.pos--;
      break;
    }
    s.expect('"."');
    if (!s.literal('[')) break;
    s.ws();
    const key = readString(s);
    if (key === undefined) throw s.ruleError('index', 'Invalid index');
    s.ws();
    if (!s.literal(']')) throw s.ruleError('index', 'Unclosed index expression');
    path.push(key);
  }
  return path;
}

/** Selector / Number / String — as raw text (a selector as its dotted form, as bexpr keeps it). */
export function readValue(s: Scanner): string | undefined {
  const selector = readSelector(s);
  if (selector) return selector.join('.');
  return readNumber(s) ?? readString(s);
}

/** `-`? (`0` / [1-9][0-9]*) (`.` [0-9]+)?, which must be followed by whitespace, `)` or the end. */
function readNumber(s: Scanner): string | undefined {
  const start = s.pos;
  if (s.peek() === '-') s.pos++;
  if (s.peek() === '0') s.pos++;
  else if (DIGIT.test(s.peek() ?? '')) while (DIGIT.test(s.peek() ?? '')) s.pos++;
  else {
    s.expect('[0-9]');
    s.pos = start;
    return undefined;
  }
  if (s.peek() === '.' && DIGIT.test(s.peek(1) ?? '')) {
    s.pos++;
    while (DIGIT.test(s.peek() ?? '')) s.pos++;
  }
  const next = s.peek();
  if (next !== undefined && next !== ')' && !WS.test(next)) throw s.ruleError('number', 'Invalid number literal');
  return s.src.slice(start, s.pos);
}

/** A backtick (raw) or double-quoted (Go escapes) string, decoded. */
function readString(s: Scanner): string | undefined {
  const quote = s.peek();
  if (quote !== '`' && quote !== '"') {
    s.expect('"\\""');
    s.expect('"`"');
    return undefined;
  }
  const src = s.src;
  const bodyStart = s.pos + 1;
  let i = bodyStart;
  while (i < src.length && src[i] !== quote) i += quote === '"' && src[i] === '\\' ? 2 : 1;
  if (i >= src.length) {
    s.pos = src.length;
    throw s.ruleError('string', 'Unterminated string literal');
  }
  s.pos = i + 1;
  if (quote === '`') return decodeRaw(src.slice(bodyStart, i));
  const decoded = decodeDoubleQuoted(src, bodyStart, i);
  if (!decoded.ok) throw s.ruleError('string', decoded.reason, decoded.at);
  return decoded.value;
}
