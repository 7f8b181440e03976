import { describe, expect, it } from 'vitest';
import { compilePattern, MAX_PATTERN_LENGTH, type Pattern } from './regex.js';

function re(pattern: string): Pattern {
  const compiled = compilePattern(pattern);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.re;
}

function rejection(pattern: string): string {
  const compiled = compilePattern(pattern);
  expect(compiled.ok).toBe(false);
  return compiled.ok ? '' : compiled.error;
}

describe('compilePattern (RE2 syntax and engine)', () => {
  it('runs ordinary patterns unanchored, like Go regexp.MatchString', () => {
    expect(re('b+').test('abbbc')).toBe(true);
    expect(re('^b').test('abc')).toBe(false);
    expect(re('(?:ab|cd){2}$').test('xxabcd')).toBe(true);
  });

  it('takes RE2 flag groups, leading or inline', () => {
    expect(re('(?i)^abc$').test('ABC')).toBe(true);
    expect(re('(?s)a.b').test('a\nb')).toBe(true);
    expect(re('a.b').test('a\nb')).toBe(false);
    expect(re('(?m)^b$').test('a\nb')).toBe(true);
    expect(re('a(?i)b').test('aB')).toBe(true);
    expect(re('(?U)a+').test('aaa')).toBe(true);
  });

  it('knows \\A, \\z, (?P<name>), POSIX classes and Unicode classes', () => {
    expect(re('\\Aab').test('ab')).toBe(true);
    expect(re('(?m)\\Ab').test('a\nb')).toBe(false);
    expect(re('(?m)a\\z').test('a\nb')).toBe(false);
    expect(re('b\\z').test('a\nb')).toBe(true);
    expect(re('(?P<word>[a-z]+)').test('12abc')).toBe(true);
    expect(re('^[[:digit:]]+$').test('0123')).toBe(true);
    expect(re('^[[:alpha:]_]+$').test('ab_C')).toBe(true);
    expect(re('^[[:xdigit:]]+$').test('0fG')).toBe(false);
    expect(re('^\\pL+$').test('héllo')).toBe(true);
  });

  it('rejects what RE2 rejects, with Go’s messages: backreferences and lookaround', () => {
    expect(rejection('(a)\\1')).toMatch(/invalid escape sequence: `\\1`/);
    expect(rejection('a(?=b)')).toMatch(/^error parsing regexp: .*`\(\?=`/);
    expect(rejection('a(?!b)')).toMatch(/^error parsing regexp: .*`\(\?!`/);
    expect(rejection('(?<=a)b')).toMatch(/^error parsing regexp: /);
    expect(rejection('(?<!a)b')).toMatch(/^error parsing regexp: /);
  });

  it('reports syntax errors, over-long patterns and over-large programs', () => {
    expect(rejection('(')).toMatch(/^error parsing regexp: /);
    expect(rejection('a{2,1}')).toMatch(/^error parsing regexp: /);
    expect(compilePattern('a'.repeat(MAX_PATTERN_LENGTH)).ok).toBe(true);
    expect(rejection('a'.repeat(MAX_PATTERN_LENGTH + 1))).toBe(`pattern is ${MAX_PATTERN_LENGTH + 1} characters long; the limit is ${MAX_PATTERN_LENGTH}`);
    expect(rejection('((a{100}){100}){100}')).toMatch(/^(error parsing regexp: .*|pattern compiles to \d+ instructions; the limit is \d+)$/);
  });

  it('matches in linear time: a pattern that backtracks exponentially elsewhere answers at once', () => {
    // With a backtracking engine each added character doubles the work: 40 characters would
    // take days. RE2's engine answers in microseconds; the test only needs it to finish.
    const evil = re('^(a+)+$');
    expect(evil.test(`${'a'.repeat(40)}b`)).toBe(false);
    expect(re('^(a|aa)+$').test(`${'a'.repeat(5000)}b`)).toBe(false);
    expect(evil.test('a'.repeat(40))).toBe(true);
  });

  it('is stateless: the same answer every time', () => {
    const pattern = re('(?ims)a');
    expect([pattern.test('A'), pattern.test('A')]).toEqual([true, true]);
  });
});
