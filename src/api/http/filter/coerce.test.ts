import { describe, expect, it } from 'vitest';
import { coerceBool, coerceFloat, coerceInt, coerceNumber } from './coerce.js';

const value = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T | string => (r.ok ? r.value : r.error);

describe('Go strconv coercion', () => {
  it("ParseBool takes Go's spellings only", () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(value(coerceBool(t))).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(value(coerceBool(f))).toBe(false);
    expect(value(coerceBool('yes'))).toBe('strconv.ParseBool: parsing "yes": invalid syntax');
    expect(value(coerceBool('tRuE'))).toMatch(/invalid syntax/);
  });

  it('ParseInt with base 0 reads decimal, hex, octal and binary, with underscores between digits', () => {
    expect(value(coerceInt('8080'))).toBe(8080);
    expect(value(coerceInt('-42'))).toBe(-42);
    expect(value(coerceInt('+7'))).toBe(7);
    expect(value(coerceInt('0x1F'))).toBe(31);
    expect(value(coerceInt('0o17'))).toBe(15);
    expect(value(coerceInt('017'))).toBe(15);
    expect(value(coerceInt('0b101'))).toBe(5);
    expect(value(coerceInt('1_000'))).toBe(1000);
    expect(value(coerceInt('0'))).toBe(0);
    for (const bad of ['', '1.5', '1e3', '08', '_1', '1_', '1__0', '0x', 'abc', ' 1'])
      expect(value(coerceInt(bad))).toMatch(/^strconv.ParseInt: .*invalid syntax$/);
  });

  it('ParseInt and ParseUint check the 64-bit ranges; ParseUint takes no sign', () => {
    expect(value(coerceInt('9223372036854775807'))).toBe(9223372036854775807);
    expect(value(coerceInt('9223372036854775808'))).toBe('strconv.ParseInt: parsing "9223372036854775808": value out of range');
    expect(value(coerceInt('-9223372036854775808'))).toBe(-9223372036854775808);
    expect(value(coerceInt('18446744073709551615', true))).toBe(18446744073709551615);
    expect(value(coerceInt('18446744073709551616', true))).toMatch(/ParseUint.*value out of range/);
    expect(value(coerceInt('-1', true))).toBe('strconv.ParseUint: parsing "-1": invalid syntax');
  });

  it('ParseFloat reads decimal forms, inf and nan', () => {
    expect(value(coerceFloat('1.5'))).toBe(1.5);
    expect(value(coerceFloat('-.5'))).toBe(-0.5);
    expect(value(coerceFloat('1e3'))).toBe(1000);
    expect(value(coerceFloat('5.'))).toBe(5);
    expect(value(coerceFloat('-Inf'))).toBe(-Infinity);
    expect(value(coerceFloat('infinity'))).toBe(Infinity);
    expect(Number.isNaN(value(coerceFloat('NaN')))).toBe(true);
    expect(value(coerceFloat('1e400'))).toMatch(/value out of range/);
    expect(value(coerceFloat('1.2.3'))).toBe('strconv.ParseFloat: parsing "1.2.3": invalid syntax');
  });

  it('reads a number of unknown Go type as an integer form first', () => {
    expect(coerceNumber('010')).toBe(8);
    expect(coerceNumber('1.50')).toBe(1.5);
    expect(coerceNumber('v2')).toBeUndefined();
  });
});
