/**
 * Go's rules for the string literals bexpr takes: backtick strings are raw (no escapes; Go
 * drops carriage returns from them), double-quoted strings take Go's escapes. Unlike bexpr,
 * whose lexer ends a double-quoted string at the first `"` even after a backslash, `\"` is
 * accepted here — a superset: every expression bexpr accepts reads the same.
 */

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/** The outcome of decoding a literal: its value, or what is wrong and where (source index). */
export type Decoded = { ok: true; value: string } | { ok: false; at: number; reason: string };

function hexRun(src: string, from: number, count: number): number | undefined {
  const text = src.slice(from, from + count);
  return text.length === count && /^[0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : undefined;
}

/**
 * Decodes the body of a double-quoted literal, `src[start, end)` (quotes excluded).
 * `start` is an index into the whole expression so errors point at the bad escape.
 */
export function decodeDoubleQuoted(src: string, start: number, end: number): Decoded {
  let out = '';
  let i = start;
  while (i < end) {
    const ch = src[i];
    if (ch === '\n') return { ok: false, at: i, reason: 'invalid syntax: newline in string' };
    if (ch !== '\\') {
      out += ch;
      i++;
      continue;
    }
    const esc = src[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    let code: number | undefined;
    let width = 0;
    if (esc === 'x') [code, width] = [hexRun(src, i + 2, 2), 4];
    else if (esc === 'u') [code, width] = [hexRun(src, i + 2, 4), 6];
    else if (esc === 'U') [code, width] = [hexRun(src, i + 2, 8), 10];
    else if (esc >= '0' && esc <= '7') {
      const oct = src.slice(i + 1, i + 4);
      [code, width] = [/^[0-7]{3}$/.test(oct) ? parseInt(oct, 8) : undefined, 4];
      if (code !== undefined && code > 255) code = undefined;
    }
    const isRune = esc === 'u' || esc === 'U';
    if (code === undefined || i + width > end || (isRune && (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)))) {
      const shown = src.slice(i, Math.min(i + Math.max(width, 2), end));
      return { ok: false, at: i, reason: `invalid syntax: bad escape sequence ${JSON.stringify(shown)}` };
    }
    out += String.fromCodePoint(code);
    i += width;
  }
  return { ok: true, value: out };
}

/** The value of a backtick literal's body: the text as written, less carriage returns. */
export function decodeRaw(body: string): string {
  return body.includes('\r') ? body.replaceAll('\r', '') : body;
}
