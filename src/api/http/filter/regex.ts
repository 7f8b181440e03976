/**
 * `matches` takes a Go (RE2) regular expression, and Beacon runs it on RE2's own engine (re2js,
 * a port of it): the same syntax and meaning as Consul's, and matching in time linear in the
 * input, so no pattern can stall the server (a backtracking engine takes minutes on
 * `^(a+)+$` against 32 characters). Patterns are capped at MAX_PATTERN_LENGTH characters and
 * their compiled programs at MAX_PROGRAM_SIZE instructions, which bounds the work of one match to
 * their product.
 */
import { RE2JS } from 're2js';

/** Longest regular expression `matches` accepts, in characters. */
export const MAX_PATTERN_LENGTH = 1024;

/** Largest compiled program accepted (RE2 instructions); `(a{100}){100}` and the like go past it. */
export const MAX_PROGRAM_SIZE = 10_000;

/** A compiled pattern: `test` finds a match anywhere in the string, as Go's regexp.MatchString. */
export interface Pattern {
  test(s: string): boolean;
}

export type CompiledPattern = { ok: true; re: Pattern } | { ok: false; error: string };

/** Compiles an RE2 pattern; a bad one gives Go's error text (`error parsing regexp: …`). */
export function compilePattern(pattern: string): CompiledPattern {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, error: `pattern is ${pattern.length} characters long; the limit is ${MAX_PATTERN_LENGTH}` };
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (err) {
    const message = (err as Error).message;
    return { ok: false, error: message.startsWith('error parsing regexp') ? message : `error parsing regexp: ${message}` };
  }
  if (compiled.programSize() > MAX_PROGRAM_SIZE) {
    return { ok: false, error: `pattern compiles to ${compiled.programSize()} instructions; the limit is ${MAX_PROGRAM_SIZE}` };
  }
  return { ok: true, re: { test: (s) => compiled.test(s) } };
}
