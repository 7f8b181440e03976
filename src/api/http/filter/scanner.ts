import type { BeaconError } from '../../../errors/index.js';
import { parseError } from './errors.js';

const WS = '[ \\t\\r\\n]';

function isWs(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

/**
 * A cursor over the expression text for the scannerless parser. Like the PEG parser bexpr
 * generates, it remembers the farthest position any rule failed at and what was expected
 * there, which becomes the "no match found, expected: …" message.
 */
export class Scanner {
  pos = 0;
  private failPos = -1;
  private readonly expected = new Set<string>();

  constructor(readonly src: string) {}

  get atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  /** Records that `what` would have matched at `at` (default: here). */
  expect(what: string, at = this.pos): void {
    if (at > this.failPos) {
      this.failPos = at;
      this.expected.clear();
    }
    if (at === this.failPos) this.expected.add(what);
  }

  /** Consumes `text` if it comes next. */
  literal(text: string): boolean {
    if (this.src.startsWith(text, this.pos)) {
      this.pos += text.length;
      return true;
    }
    this.expect(JSON.stringify(text));
    return false;
  }

  /** Consumes one or more whitespace characters (bexpr's `_`). */
  ws(): boolean {
    const start = this.pos;
    while (isWs(this.src[this.pos])) this.pos++;
    this.expect(WS);
    return this.pos > start;
  }

  /** Consumes `_ keyword` — whitespace then the keyword; restores the position if either is missing. */
  spacedWord(word: string): boolean {
    const save = this.pos;
    if (this.ws() && this.literal(word)) return true;
    this.pos = save;
    return false;
  }

  /** The "no match found" error for the farthest failure seen. */
  noMatch(): BeaconError {
    const list = [...this.expected].sort();
    const text = list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
    return parseError(this.src, Math.max(this.failPos, 0), `no match found, expected: ${text || 'end of input'}`);
  }

  /** An error a rule raises itself, in pigeon's form: `rule "number": Invalid number literal`. */
  ruleError(rule: string, message: string, at = this.pos): BeaconError {
    return parseError(this.src, at, `rule ${JSON.stringify(rule)}: ${message}`);
  }
}
