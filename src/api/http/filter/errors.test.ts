import { describe, expect, it } from 'vitest';
import { BeaconError } from '../../../errors/index.js';
import { compileFilter, FILTER_ERROR_PREFIX, MAX_DEPTH, MAX_EXPRESSION_LENGTH } from './index.js';
import { HEALTH_SPEC } from './fixtures.test-suite.js';

function errorOf(expression: string, fields = HEALTH_SPEC): BeaconError {
  try {
    compileFilter(expression, { fields });
  } catch (err) {
    expect(err).toBeInstanceOf(BeaconError);
    return err as BeaconError;
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be rejected`);
}

const detail = (expression: string, fields = HEALTH_SPEC): string => {
  const err = errorOf(expression, fields);
  expect(err.message.startsWith(FILTER_ERROR_PREFIX)).toBe(true);
  return err.message.slice(FILTER_ERROR_PREFIX.length);
};

describe('filter errors', () => {
  it('are 400 validation errors on the filter field, worded as Consul words them', () => {
    const err = errorOf('foo');
    expect(err.code).toBe('BEACON_ERR_VALIDATION');
    expect(err.status).toBe(400);
    expect(err.field).toBe('filter');
    // Consul answers exactly this for ?filter=foo (hashicorp/consul#7338)
    expect(err.message).toBe(
      'Failed to create boolean expression evaluator: 1:4 (3): no match found, expected: "!=", ".", "==", "[", [ \\t\\r\\n] or [a-zA-Z0-9_]',
    );
  });

  it('give the position of a syntax error as line:column (byte offset)', () => {
    // Consul answers this for an unquoted IP (hashicorp/consul#9441)
    expect(detail('Node.Address == 10.10.10.10 ')).toBe('1:22 (21): rule "number": Invalid number literal');
    expect(detail('Service.Port == 80x')).toBe('1:19 (18): rule "number": Invalid number literal');
    expect(detail('(Service.Port == 80')).toBe('1:20 (19): rule "grouping": Unmatched parentheses');
    expect(detail('Node.Meta[env] == x')).toBe('1:11 (10): rule "index": Invalid index');
    expect(detail('Node.Meta["env" == x')).toBe('1:17 (16): rule "index": Unclosed index expression');
    expect(detail('Service.ID == "abc')).toBe('1:19 (18): rule "string": Unterminated string literal');
    expect(detail('v2 in 5')).toBe('1:7 (6): rule "match": Invalid selector');
    expect(detail('Service.ID == "a\\qb"')).toBe('1:17 (16): rule "string": invalid syntax: bad escape sequence "\\\\q"');
    expect(detail('Service.ID ==')).toMatch(/^1:14 \(13\): no match found, expected: .*\[a-zA-Z\]/);
    expect(detail('Service.ID == a b')).toMatch(/^1:17 \(16\): no match found, expected: .*"and".*"or"/);
    expect(detail('(Service.ID == a)and(Service.ID == b)')).toMatch(/^1:18 \(17\): no match found/);
  });

  it('count lines, characters and UTF-8 bytes in positions', () => {
    expect(detail('Service.ID == "é"\nand Service.Port == 1x')).toBe('2:22 (40): rule "number": Invalid number literal');
  });

  it('name unknown selectors, as Consul does when it checks them against the type', () => {
    expect(detail('Foo == 1')).toBe('Selector "Foo" is not valid');
    expect(detail('Service.Foo.Bar == 1')).toBe('Selector "Service.Foo" is not valid');
    expect(detail('Service.Tags.x == 1')).toBe('Selector "Service.Tags.x" is not valid');
    expect(detail('Node.Meta.env.x == 1')).toBe('Selector "Node.Meta.env.x" is not valid');
    expect(detail('Service.ID == a or Checks.Nope == x')).toBe('Selector "Checks.Nope" is not valid');
  });

  it('reject operators the field does not take', () => {
    expect(detail('Service.Port contains 8')).toBe('Invalid match operator "In" for selector "Service.Port"');
    expect(detail('Service.ID is empty')).toBe('Invalid match operator "Is Empty" for selector "Service.ID"');
    expect(detail('Service.Tags == v2')).toBe('Invalid match operator "Equal" for selector "Service.Tags"');
    expect(detail('Service.Weights == 1')).toBe('Invalid match operator "Equal" for selector "Service.Weights"');
    expect(detail('Checks contains x')).toBe('Invalid match operator "In" for selector "Checks"');
    expect(detail('Service.EnableTagOverride matches x')).toBe('Invalid match operator "Matches" for selector "Service.EnableTagOverride"');
  });

  it('reject values that do not coerce to the field type', () => {
    expect(detail('Service.Port == abc')).toBe('Failed to coerce value "abc" for selector "Service.Port": strconv.ParseInt: parsing "abc": invalid syntax');
    expect(detail('Service.Port == 1.5')).toBe('Failed to coerce value "1.5" for selector "Service.Port": strconv.ParseInt: parsing "1.5": invalid syntax');
    expect(detail('Service.Port == 99999999999999999999')).toMatch(/value out of range$/);
    expect(detail('Service.EnableTagOverride == yes')).toBe(
      'Failed to coerce value "yes" for selector "Service.EnableTagOverride": strconv.ParseBool: parsing "yes": invalid syntax',
    );
  });

  it('reject bad regular expressions', () => {
    expect(detail('Service.ID matches "("')).toMatch(/^Failed to compile regular expression "\(": error parsing regexp: /);
    expect(detail('Service.ID matches "(a)\\\\1"')).toMatch(/invalid escape sequence/);
    expect(detail('Service.ID matches "a(?=b)"')).toMatch(/unsupported Perl syntax/);
    expect(detail(`Service.ID matches "${'a'.repeat(1025)}"`)).toMatch(/pattern is 1025 characters long; the limit is 1024/);
  });

  it('bound the expression length and nesting depth', () => {
    const long = `Service.ID == "${'x'.repeat(MAX_EXPRESSION_LENGTH)}"`;
    expect(detail(long)).toBe(`expression is ${long.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`);
    const nested = (n: number): string => `${'('.repeat(n)}Service.ID == a${')'.repeat(n)}`;
    expect(() => compileFilter(nested(MAX_DEPTH), { fields: HEALTH_SPEC })).not.toThrow();
    expect(detail(nested(MAX_DEPTH + 1))).toBe(`1:${MAX_DEPTH + 1} (${MAX_DEPTH}): expression nests deeper than ${MAX_DEPTH} levels`);
    expect(detail(`${'not '.repeat(MAX_DEPTH + 1)}Service.ID == a`)).toMatch(/nests deeper than 64 levels/);
  });

  it('are raised for whitespace-only input, though the empty expression matches everything', () => {
    expect(detail('   ')).toMatch(/^1:4 \(3\): no match found/);
    expect(compileFilter('')(undefined)).toBe(true);
  });
});
