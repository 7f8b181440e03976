import { describe, expect, it } from 'vitest';
import { compilePattern, MAX_PATTERN_LENGTH } from './regex.js';

function re(pattern: string): RegExp {
  const compiled = compilePattern(pattern);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.re;
}

function rejection(pattern: string): string {
  const compiled = compilePattern(pattern);
  expect(compiled.ok).toBe(false);
  return compiled.ok ? '' : compiled.error;
}

describe('compilePattern (RE2 syntax on JS RegExp)', () => {
  it('runs ordinary patterns unanchored, like Go regexp.Match', () => {
    expect(re('b+').test('abbbc')).toBe(true);
    expect(re('^b').test('abc')).toBe(false);
    expect(re('(?:ab|cd){2}$').test('xxabcd')).toBe(true);
  });

  it('turns leading flag groups into RegExp flags', () => {
    expect(re('(?i)^abc$').test('ABC')).toBe(true);
    expect(re('(?s)a.b').test('a\nb')).toBe(true);
    expect(re('(?m)^b$').test('a\nb')).toBe(true);
    expect(re('(?is)A.B').flags).toBe('is');
    expect(rejection('(?U)a+')).toMatch(/unsupported Perl syntax: `\(\?U\)`/);
    expect(rejection('a(?i)b')).toMatch(/unsupported Perl syntax/);
  });

  it('translates \\A, \\z, (?P<name>) and POSIX classes', () => {
    expect(re('\\Aab').test('ab')).toBe(true);
    expect(re('(?m)\\Ab').test('a\nb')).toBe(false);
    expect(re('(?m)a\\z').test('a\nb')).toBe(false);
    expect(re('b\\z').test('a\nb')).toBe(true);
    expect(re('(?P<word>[a-z]+)').exec('12abc')?.groups?.word).toBe('abc');
    expect(re('^[[:digit:]]+$').test('0123')).toBe(true);
    expect(re('^[[:alpha:]_]+$').test('ab_C')).toBe(true);
    expect(re('^[[:xdigit:]]+$').test('0fG')).toBe(false);
    expect(re('[]a]').test(']')).toBe(true);
    expect(re('[^]a]').test(']')).toBe(false);
  });

  it('rejects what RE2 rejects: backreferences and lookaround', () => {
    expect(rejection('(a)\\1')).toMatch(/invalid escape sequence: `\\1`/);
    expect(rejection('(?<n>a)\\k<n>')).toMatch(/invalid escape sequence/);
    expect(rejection('a(?=b)')).toMatch(/`\(\?=`/);
    expect(rejection('a(?!b)')).toMatch(/`\(\?!`/);
    expect(rejection('(?<=a)b')).toMatch(/`\(\?<=`/);
    expect(rejection('(?<!a)b')).toMatch(/`\(\?<!`/);
    expect(rejection('\\pL')).toMatch(/unsupported/);
  });

  it('reports syntax errors and over-long patterns', () => {
    expect(rejection('(')).toMatch(/^error parsing regexp: /);
    expect(rejection('a{2,1}')).toMatch(/^error parsing regexp: /);
    expect(compilePattern('a'.repeat(MAX_PATTERN_LENGTH)).ok).toBe(true);
    expect(rejection('a'.repeat(MAX_PATTERN_LENGTH + 1))).toBe(`pattern is ${MAX_PATTERN_LENGTH + 1} characters long; the limit is ${MAX_PATTERN_LENGTH}`);
  });

  it('never returns a stateful (global or sticky) RegExp', () => {
    const pattern = re('(?ims)a');
    expect(pattern.global || pattern.sticky).toBe(false);
    expect([pattern.test('A'), pattern.test('A')]).toEqual([true, true]);
  });
});
