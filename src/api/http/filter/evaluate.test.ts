import { describe, expect, it } from 'vitest';
import { compileFilter, type FieldSpec } from './index.js';
import { healthEntry, HEALTH_SPEC } from './fixtures.test-suite.js';

// The same expectations hold with and without a FieldSpec: the spec only adds checks.
describe.each([
  ['without a field spec', undefined],
  ['with a field spec', HEALTH_SPEC],
] as [string, FieldSpec | undefined][])('evaluation %s', (_name, fields) => {
  const entry = healthEntry();
  const run = (expression: string, value: unknown = entry): boolean => compileFilter(expression, { fields })(value);

  it('== and != compare strings, coercing the value to numbers and booleans as the field needs', () => {
    expect(run('Service.Service == payments')).toBe(true);
    expect(run('Service.Service == "payments"')).toBe(true);
    expect(run('Service.Service == `payments`')).toBe(true);
    expect(run('Service.Service == Payments')).toBe(false);
    expect(run('Service.Service != payments')).toBe(false);
    expect(run('Service.Port == 8080')).toBe(true);
    expect(run('Service.Port == "8080"')).toBe(true);
  });

  it('coerces quoted numeric forms as Go does (hex, legacy octal)', () => {
    expect(run('Service.Port == "0x1F90"')).toBe(true);
    expect(run('Service.Weights.Passing == "012"')).toBe(true); // 012 octal = 10
    expect(run('Service.Port != 80')).toBe(true);
    expect(run('Service.EnableTagOverride == false')).toBe(true);
    expect(run('Service.EnableTagOverride == F')).toBe(true);
    expect(run('Service.EnableTagOverride != "true"')).toBe(true);
  });

  it('in / contains test substrings of strings, elements of lists and keys of maps', () => {
    expect(run('"pay" in Service.Service')).toBe(true);
    expect(run('Service.Service contains "ments"')).toBe(true);
    expect(run('Service.Service not contains xyz')).toBe(true);
    expect(run('v2 in Service.Tags')).toBe(true);
    expect(run('"v" in Service.Tags')).toBe(false);
    expect(run('Service.Tags contains primary')).toBe(true);
    expect(run('v3 not in Service.Tags')).toBe(true);
    expect(run('Service.Tags not contains v2')).toBe(false);
    expect(run('env in Node.Meta')).toBe(true);
    expect(run('prod in Node.Meta')).toBe(false);
    expect(run('Node.Meta contains "rack.id"')).toBe(true);
    expect(run('Node.Meta not contains "zone"')).toBe(true);
  });

  it('is empty / is not empty test lists and maps', () => {
    expect(run('Service.Tags is not empty')).toBe(true);
    expect(run('Service.Tags is empty')).toBe(false);
    expect(run('Service.Tags is empty', healthEntry({ tags: [] }))).toBe(true);
    expect(run('Service.Meta is empty', healthEntry({ meta: {} }))).toBe(true);
    expect(run('Service.Meta is not empty')).toBe(true);
    expect(run('Checks is not empty')).toBe(true);
    expect(run('Checks is empty', healthEntry({ statuses: [] }))).toBe(true);
  });

  it('matches / not matches run regular expressions on strings', () => {
    expect(run('Service.ID matches "^payments-[0-9]+$"')).toBe(true);
    expect(run('Service.ID matches `^pay`')).toBe(true);
    expect(run('Service.ID not matches "^web"')).toBe(true);
    expect(run('Service.ID matches "(?i)^PAYMENTS"')).toBe(true);
    expect(run('Node.Address matches "^10\\\\.0\\\\."')).toBe(true);
    expect(run('Service.ID matches "[[:digit:]]\\\\z"')).toBe(true);
  });

  it('selects map values by dotted names and by ["key"] for keys with dots or slashes', () => {
    expect(run('Node.Meta.env == prod')).toBe(true);
    expect(run('Node.Meta["env"] == prod')).toBe(true);
    expect(run('Node.Meta["rack.id"] == r1')).toBe(true);
    expect(run('Node.Meta[`team/owner`] == payments')).toBe(true);
    expect(run('Service.Meta.version matches "^2\\\\."')).toBe(true);
    expect(run('Service.TaggedAddresses.lan.Port == 8080')).toBe(true);
    expect(run('Node.TaggedAddresses.wan == "198.18.0.1"')).toBe(true);
  });

  it('treats a missing map key as missing: only !=, not in and not matches hold', () => {
    expect(run('Node.Meta.zone == a')).toBe(false);
    expect(run('Node.Meta.zone != a')).toBe(true);
    expect(run('a in Node.Meta.zone')).toBe(false);
    expect(run('a not in Node.Meta.zone')).toBe(true);
    expect(run('Node.Meta.zone matches ".*"')).toBe(false);
    expect(run('Node.Meta.zone not matches "x"')).toBe(true);
  });

  it('steps into lists of objects, matching when ANY element matches (bexpr semantics)', () => {
    const mixed = healthEntry({ statuses: ['passing', 'critical'] });
    expect(run('Checks.Status == passing', mixed)).toBe(true);
    expect(run('Checks.Status == critical', mixed)).toBe(true);
    expect(run('Checks.Status != passing', mixed)).toBe(true); // some check is not passing
    expect(run('Checks.Status != passing')).toBe(false); // all passing
    expect(run('not Checks.Status != passing')).toBe(true); // i.e. every check passes
    expect(run('Checks.Status == warning', mixed)).toBe(false);
    expect(run('v2 in Checks.ServiceTags')).toBe(true);
    expect(run('Checks.CheckID matches "^service:"')).toBe(true);
    const none = healthEntry({ statuses: [] });
    expect(run('Checks.Status == passing', none)).toBe(false);
    expect(run('Checks.Status != passing', none)).toBe(false); // no element: no match either way
  });

  it('combines with and, or, not and parentheses', () => {
    expect(run('Service.Service == payments and v2 in Service.Tags')).toBe(true);
    expect(run('Service.Service == web and v2 in Service.Tags')).toBe(false);
    expect(run('Service.Service == web or v2 in Service.Tags')).toBe(true);
    expect(run('not Service.Service == web')).toBe(true);
    expect(run('Service.Service == web and Service.Port == 1 or Node.Meta.env == prod')).toBe(true);
    expect(run('Service.Service == web and (Service.Port == 1 or Node.Meta.env == prod)')).toBe(false);
    expect(run('Service.Service == web or not Service.Port == 8080 or Node.Meta.env == dev')).toBe(false);
    expect(run('(Service.Port == 1 or Service.Port == 2 or Service.Port == 8080) and not (Checks.Status == critical)')).toBe(true);
  });

  it('never throws on odd items', () => {
    const keep = compileFilter('Service.Tags contains v2 or Node.Meta.env != x or Checks.Status matches "p"', { fields });
    for (const item of [null, undefined, 0, 'str', [], [entry], { Service: null }, { Service: 'x' }, { Checks: [null, 1, 'a', []] }]) {
      expect(typeof keep(item)).toBe('boolean');
    }
  });
});

describe('evaluation without a field spec', () => {
  const run = (expression: string, value: unknown): boolean => compileFilter(expression)(value);

  it('treats unknown fields as missing', () => {
    expect(run('Nope == 1', {})).toBe(false);
    expect(run('Nope != 1', {})).toBe(true);
    expect(run('Nope is empty', {})).toBe(true);
    expect(run('Nope is not empty', {})).toBe(false);
    expect(run('M.zone is empty', { M: { a: 'b' } })).toBe(true);
    expect(run('Nope.Deeper is not empty', { Nope: 'a string' })).toBe(false);
  });

  it('compares each JSON type by its own rules and never matches across kinds', () => {
    expect(run('N == 1.5', { N: 1.5 })).toBe(true);
    expect(run('N == "1.50"', { N: 1.5 })).toBe(true);
    expect(run('N == abc', { N: 1.5 })).toBe(false);
    expect(run('N != abc', { N: 1.5 })).toBe(true);
    expect(run('B == true', { B: true })).toBe(true);
    expect(run('B == 1', { B: true })).toBe(true);
    expect(run('S == 1', { S: '1' })).toBe(true);
    expect(run('S == 1.0', { S: '1' })).toBe(false);
    expect(run('L == a', { L: ['a'] })).toBe(false);
    expect(run('8080 in Ports', { Ports: [80, 8080] })).toBe(true);
    expect(run('x in N', { N: 5 })).toBe(false);
    expect(run('S matches "1"', { S: 1 })).toBe(false);
    expect(run('S is empty', { S: '' })).toBe(true);
    expect(run('N is empty', { N: 0 })).toBe(false);
  });

  it('does not reach prototype properties', () => {
    expect(run('constructor is empty', {})).toBe(true);
    expect(run('toString in M', { M: {} })).toBe(false);
    expect(run('A.length == 1', { A: {} })).toBe(false);
  });
});

describe('evaluation with a field spec', () => {
  const fields: FieldSpec = {
    Name: 'string',
    Port: 'int',
    Ok: 'bool',
    Tags: { list: 'string' },
    Meta: { map: 'string' },
    Checks: { list: { fields: { Status: 'string' } } },
    Extra: 'any',
  };
  const run = (expression: string, value: unknown): boolean => compileFilter(expression, { fields })(value);

  it('reads absent or null fields as Go zero values', () => {
    expect(run('Name == ""', {})).toBe(true);
    expect(run('Port == 0', { Port: null })).toBe(true);
    expect(run('Ok == false', {})).toBe(true);
    expect(run('Tags is empty', {})).toBe(true);
    expect(run('Meta is empty', { Meta: null })).toBe(true);
    expect(run('Checks.Status != passing', {})).toBe(false); // a nil slice has no element to match
  });

  it('accepts anything below an "any" field', () => {
    expect(run('Extra.Deep.Deeper == 1', { Extra: { Deep: { Deeper: 1 } } })).toBe(true);
    expect(run('Extra is not empty', { Extra: [1] })).toBe(true);
  });

  it('coerces list elements to the element type', () => {
    expect(() => compileFilter('abc in Ports', { fields: { Ports: { list: 'int' } } })).toThrow(/Failed to coerce value "abc" for selector "Ports"/);
    expect(compileFilter('8080 in Ports', { fields: { Ports: { list: 'int' } } })({ Ports: [80, 8080] })).toBe(true);
  });
});
