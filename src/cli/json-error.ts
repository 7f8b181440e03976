/**
 * Where a JSON syntax error is, as a line and a column (both from 1), for messages such as
 * `web.json:3:14: invalid JSON: Expected ',' or '}' after property value`.
 */

/** The offset JSON.parse stopped at: from its message when it says, else the shortest prefix that fails the same way. */
function errorOffset(text: string, err: Error): number {
  const m = /at position (\d+)/.exec(err.message);
  if (m) return Number(m[1]);
  if (/Unexpected end of JSON input/.test(err.message)) return text.length;
  // Some messages carry no position (`Unexpected token '}', "…" is not valid JSON`). A prefix that
  // ends before the error fails only at its own end (running out of input); one that ends after
  // it fails inside, as the whole text does. The first such prefix ends at the error.
  const failsEarly = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (e) {
      const msg = (e as Error).message;
      const at = /at position (\d+)/.exec(msg);
      if (at) return Number(at[1]) < n;
      return !/Unexpected end of JSON input/.test(msg);
    }
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsEarly(mid + 1)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The line and column of the syntax error `err` that `JSON.parse(text)` threw, and its message
 * without the position and without the copy of the input V8 adds.
 *
 * @example
 * try { JSON.parse(text) } catch (err) { jsonErrorAt(text, err) } // { line: 3, column: 14, message: "Expected ',' or '}' after property value" }
 */
export function jsonErrorAt(text: string, err: Error): { line: number; column: number; message: string } {
  const offset = Math.min(errorOffset(text, err), text.length);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  const message = err.message
    .replace(/( in JSON)? at position \d+.*$/s, '')
    .replace(/, ".*" is not valid JSON$/s, '')
    .trim();
  return { line, column, message };
}
