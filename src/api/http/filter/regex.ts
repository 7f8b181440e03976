/**
 * `matches` takes a Go (RE2) regular expression; Beacon runs it as a JavaScript RegExp. This
 * translates the common RE2-only forms — leading flags `(?i)`, `(?P<name>…)`, `\A`, `\z`,
 * POSIX classes like `[[:digit:]]` — and rejects what RE2 rejects and JS would run
 * (backreferences, lookaround), along with forms whose meaning would silently differ.
 * Patterns are capped at MAX_PATTERN_LENGTH characters.
 */

/** Longest regular expression `matches` accepts, in characters. */
export const MAX_PATTERN_LENGTH = 1024;

const POSIX: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

export type CompiledPattern = { ok: true; re: RegExp } | { ok: false; error: string };

function unsupported(what: string): CompiledPattern {
  return { ok: false, error: `error parsing regexp: invalid or unsupported Perl syntax: \`${what}\`` };
}

/** Compiles an RE2-style pattern to a RegExp (never with the stateful g/y flags). */
export function compilePattern(pattern: string): CompiledPattern {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, error: `pattern is ${pattern.length} characters long; the limit is ${MAX_PATTERN_LENGTH}` };
  }
  let flags = '';
  let i = 0;
  const lead = /^\(\?([imsU]+)\)/.exec(pattern);
  if (lead) {
    if (lead[1].includes('U')) return unsupported('(?U)');
    flags = [...new Set(lead[1])].join('');
    i = lead[0].length;
  }
  let out = '';
  let inClass = false;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return { ok: false, error: `error parsing regexp: invalid escape sequence: \`\\${next}\`` };
      if (next === 'p' || next === 'P') return unsupported(`\\${next}`);
      if (!inClass && next === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && next === 'z') out += '(?![\\s\\S])';
      else out += ch + next;
      i += 2;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i, i + 12));
      if (posix && POSIX[posix[2]] !== undefined && posix[1] === '') {
        out += POSIX[posix[2]];
        i += posix[0].length;
        continue;
      }
      if (ch === ']') inClass = false;
      out += ch;
      i++;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      i++;
      if (pattern[i] === '^') out += pattern[i++];
      if (pattern[i] === ']') {
        out += '\\]'; // a leading ] is literal in RE2
        i++;
      }
      continue;
    }
    if (ch === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2, i + 5);
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 4;
        continue;
      }
      if (/^(=|!|<=|<!)/.test(rest)) return unsupported(`(?${/^(<=|<!|=|!)/.exec(rest)![0]}`);
      if (/^[imsU-]/.test(rest)) return unsupported('(?' + rest.replace(/[^imsU-].*$/, ''));
    }
    out += ch;
    i++;
  }
  try {
    return { ok: true, re: new RegExp(out, flags) };
  } catch (err) {
    return { ok: false, error: `error parsing regexp: ${(err as Error).message}` };
  }
}
