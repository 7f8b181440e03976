/**
 * One table for Beacon's one duration parser (the SDK's parseGoDuration), run through both entry
 * points: the SDK's toMs (throws naming the field) and the server's parseDuration (undefined).
 * Each row is what Go's time.ParseDuration answers, except that negatives are refused.
 */
import { describe, expect, it } from 'vitest';
import { isBeaconClientError } from '../client/index.js';
import { toMs } from '../client/duration.js';
import { parseDuration } from './duration.js';

/** [input, milliseconds or null when refused] — the same for every entry point. */
const GO_CASES: ReadonlyArray<readonly [string, number | null]> = [
  ['10s', 10_000],
  ['1m30s', 90_000],
  ['120000ms', 120_000],
  ['1.5h', 5_400_000],
  ['2h45m', 9_900_000],
  ['300us', 0.3],
  ['1500ns', 0.0015],
  ['1h1m1s1ms1us1ns', 3_661_001.001001],
  ['0', 0],
  ['0s', 0],
  ['+0', 0],
  ['-0', 0],
  ['-0s', 0],
  // Disputed between the two parsers this one replaced; Go decides.
  ['.5s', 500],
  ['1.s', 1000],
  ['+5s', 5000],
  ['300\u00b5s', 0.3], // micro sign U+00B5
  ['300\u03bcs', 0.3], // Greek small letter mu U+03BC
  ['1.5ns', 0.000001], // Go keeps whole nanoseconds
  ['1.0000000000000000000000001s', 1000], // digits past int64 precision are ignored
  ['2562047h', 2_562_047 * 3_600_000], // within int64 nanoseconds
  [' 10s\n', 10_000], // surrounding whitespace ignored (Go refuses it; both former parsers allowed it)
  // Refused.
  ['-1s', null],
  ['-0.5ms', null],
  ['-1h30m', null], // negative: nothing here waits a negative time
  ['', null],
  [' ', null],
  ['+', null],
  ['-', null],
  ['.', null],
  ['.s', null],
  ['1.', null],
  ['s', null],
  ['10 s', null],
  ['1h 30m', null],
  ['10x', null],
  ['10S', null],
  ['1e3s', null],
  ['1,5s', null],
  ['0x10s', null],
  ['++5s', null],
  ['+-5s', null],
  ['5s-', null],
  ['NaN', null],
  ['Infinity', null],
  ['5\u00b5', null],
  ['10sec', null],
  ['1d', null],
  ['2562048h', null],
  ['9223372036854775808ns', null],
  ['99999999999999999999s', null], // beyond int64 nanoseconds
];

const sdk = (input: string): number | null => {
  try {
    return toMs(input, 'check.ttl');
  } catch (err) {
    expect(isBeaconClientError(err, 'BEACON_ERR_VALIDATION')).toBe(true);
    expect((err as Error).message).toMatch(/^check\.ttl /);
    return null;
  }
};
const server = (input: string): number | null => parseDuration(input) ?? null;

describe.each([
  ['SDK toMs', sdk],
  ['server parseDuration', server],
] as const)('Go durations through %s', (_name, parse) => {
  it.each(GO_CASES)('%j -> %s ms', (input, ms) => {
    const got = parse(input);
    if (ms === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(ms, 9);
  });
});

describe('what each entry point adds', () => {
  it('SDK: a number is milliseconds; a unitless string is refused, as in Go', () => {
    expect(toMs(42, 'x')).toBe(42);
    expect(toMs(0.5, 'x')).toBe(0.5);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => toMs(bad, 'check.ttl')).toThrow(/^check\.ttl /);
    expect(() => toMs('10', 'check.ttl')).toThrow(/^check\.ttl must be a duration/);
  });

  it('server: a JSON number or a string of digits is nanoseconds (Consul bodies; ?wait=2000000000)', () => {
    expect(parseDuration(5_000_000_000)).toBe(5000);
    expect(parseDuration(120_000_000_000)).toBe(120_000);
    expect(parseDuration('2000000000')).toBe(2000);
    expect(parseDuration('10')).toBeCloseTo(0.00001, 9);
    expect(parseDuration(' 00 ')).toBe(0);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, '18446744073709551616', null, undefined, true, {}, ['10s']]) {
      expect(parseDuration(bad)).toBeUndefined();
    }
  });
});
