import { describe, expect, it } from 'vitest';
import { isBeaconError } from '../../errors/index.js';
import { jitteredWait } from './blocking.js';
import { boolParam, DEFAULT_WAIT_MS, MAX_WAIT_MS, parseReadOptions } from './query.js';

const read = (q: Record<string, string | string[]>) => parseReadOptions(q, 'dc1');
const failure = (q: Record<string, string | string[]>) => {
  try {
    read(q);
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
};

describe('blocking query parameters', () => {
  it('wait defaults to 5 minutes and is capped at 10 minutes', () => {
    expect(DEFAULT_WAIT_MS).toBe(5 * 60_000);
    expect(MAX_WAIT_MS).toBe(10 * 60_000);
    expect(read({ index: '7' }).waitMs).toBe(DEFAULT_WAIT_MS);
    expect(read({ index: '7', wait: '' }).waitMs).toBe(DEFAULT_WAIT_MS);
    expect(read({ index: '7', wait: '0' }).waitMs).toBe(DEFAULT_WAIT_MS);
    expect(read({ index: '7', wait: '0s' }).waitMs).toBe(DEFAULT_WAIT_MS);
    expect(read({ index: '7', wait: '11m' }).waitMs).toBe(MAX_WAIT_MS);
    expect(read({ index: '7', wait: '24h' }).waitMs).toBe(MAX_WAIT_MS);
  });

  it('wait takes Go durations and integer nanoseconds', () => {
    expect(read({ wait: '10s' }).waitMs).toBe(10_000);
    expect(read({ wait: '1m30s' }).waitMs).toBe(90_000);
    expect(read({ wait: '120000ms' }).waitMs).toBe(120_000);
    expect(read({ wait: '2000000000' }).waitMs).toBe(2000);
  });

  it('index: absent, empty or 0 is not blocking; a number blocks', () => {
    expect(read({}).index).toBe(0);
    expect(read({ index: '' }).index).toBe(0);
    expect(read({ index: '0' }).index).toBe(0);
    expect(read({ index: '42' }).index).toBe(42);
    expect(read({ index: ['1', '43'] }).index).toBe(43);
  });

  it.each([
    ['index', '-1'],
    ['index', 'abc'],
    ['index', '1.5'],
    ['index', '99999999999999999999'],
    ['wait', 'forever'],
    ['wait', '-5s'],
    ['wait', '10x'],
  ])('bad %s=%s -> 400 naming the field', (field, value) => {
    const err = failure({ [field]: value });
    expect(isBeaconError(err, 'BEACON_ERR_VALIDATION')).toBe(true);
    expect((err as { field?: string }).field).toBe(field);
    expect((err as Error).message).toMatch(field === 'index' ? /^Invalid index/ : /^Invalid wait time/);
  });

  it('stale and consistent are presence flags and exclude each other', () => {
    expect(read({ stale: '' }).consistency).toBe('stale');
    expect(read({ consistent: '' }).consistency).toBe('consistent');
    expect(read({}).consistency).toBe('default');
    expect((failure({ stale: '', consistent: '' }) as Error).message).toBe('Cannot specify ?stale with ?consistent, conflicting semantics.');
  });

  it('another datacenter answers No path to datacenter', () => {
    const err = failure({ dc: 'dc2' });
    expect(isBeaconError(err, 'BEACON_ERR_NO_PATH_TO_DC')).toBe(true);
    expect((err as Error).message).toMatch(/^No path to datacenter/);
    expect(read({ dc: 'dc1' }).index).toBe(0);
  });

  it('jitter adds between 0 and wait/16', () => {
    expect(jitteredWait(160_000, () => 0)).toBe(160_000);
    expect(jitteredWait(160_000, () => 0.999999)).toBeCloseTo(170_000, -1);
    for (let i = 0; i < 1000; i++) {
      const w = jitteredWait(16_000);
      expect(w).toBeGreaterThanOrEqual(16_000);
      expect(w).toBeLessThan(17_000);
    }
  });
});

describe('boolean presence flags (?passing)', () => {
  it('absent is false, present without a value is true', () => {
    expect(boolParam({}, 'passing')).toBe(false);
    expect(boolParam({ passing: '' }, 'passing')).toBe(true);
  });

  it("reads an explicit value as Go's strconv.ParseBool; the last of repeated values wins", () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(boolParam({ passing: v }, 'passing')).toBe(true);
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(boolParam({ passing: v }, 'passing')).toBe(false);
    expect(boolParam({ passing: ['true', 'false'] }, 'passing')).toBe(false);
  });

  it.each(['yes', 'on', 'maybe', 'tRuE'])('?passing=%s -> 400 naming the field', (v) => {
    let err: unknown;
    try {
      boolParam({ passing: v }, 'passing');
    } catch (e) {
      err = e;
    }
    expect(isBeaconError(err, 'BEACON_ERR_VALIDATION')).toBe(true);
    expect((err as { field?: string }).field).toBe('passing');
    expect((err as Error).message).toBe(`Invalid value for ?passing: "${v}" is not a boolean`);
  });
});
