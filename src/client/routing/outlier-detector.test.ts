import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { OutlierDetector } from './outlier-detector.js';

function setup(opts: ConstructorParameters<typeof OutlierDetector>[1] = {}) {
  let t = 0;
  const d = new OutlierDetector(
    'web',
    { consecutiveFailures: 2, baseEjectionMs: 1_000, maxEjectionMs: 8_000, ...opts },
    silentLogger,
    () => t,
    () => 0.5,
  );
  return { d, advance: (ms: number) => (t += ms) };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);
const set = (n: number) => ids(n).map((id) => ({ id }));

describe('passive health (outlier ejection)', () => {
  it('ejects after the configured failures in a row; a success in between resets the count', () => {
    const { d } = setup();
    expect(d.recordFailure('i0', ids(4))).toBe(false);
    d.recordSuccess('i0');
    expect(d.recordFailure('i0', ids(4))).toBe(false);
    expect(d.recordFailure('i0', ids(4))).toBe(true);
    expect(d.isEjected('i0')).toBe(true);
    expect(d.available(set(4)).map((i) => i.id)).toEqual(['i1', 'i2', 'i3']);
  });

  it('lets the instance back by itself after the cool-down', () => {
    const { d, advance } = setup();
    d.recordFailure('i0', ids(4));
    d.recordFailure('i0', ids(4));
    advance(999);
    expect(d.isEjected('i0')).toBe(true);
    advance(2);
    expect(d.isEjected('i0')).toBe(false);
    expect(d.available(set(4))).toHaveLength(4);
  });

  it('doubles the cool-down on repeat ejections, up to the maximum', () => {
    const { d, advance } = setup();
    const cooldowns: number[] = [];
    for (let k = 0; k < 6; k++) {
      d.recordFailure('i0', ids(4));
      d.recordFailure('i0', ids(4));
      let ms = 0;
      while (d.isEjected('i0')) {
        advance(100);
        ms += 100;
      }
      cooldowns.push(ms);
      // Fail again right after returning (within the streak memory).
    }
    expect(cooldowns).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('forgets the streak once the instance has stayed healthy long enough', () => {
    const { d, advance } = setup();
    for (let k = 0; k < 2; k++) {
      d.recordFailure('i0', ids(4));
      d.recordFailure('i0', ids(4));
      advance(5_000);
    }
    advance(10_000);
    d.recordFailure('i0', ids(4));
    d.recordFailure('i0', ids(4));
    advance(1_001);
    expect(d.isEjected('i0')).toBe(false);
  });

  it('never ejects more than half of the set', () => {
    const { d } = setup({ consecutiveFailures: 1 });
    const results = ids(5).map((id) => d.recordFailure(id, ids(5)));
    expect(results.filter(Boolean)).toHaveLength(2);
    expect(d.available(set(5))).toHaveLength(3);
  });

  it('never ejects the only instance, nor one of two beyond the first', () => {
    const { d } = setup({ consecutiveFailures: 1 });
    expect(d.recordFailure('i0', ids(1))).toBe(false);
    expect(d.available(set(1))).toHaveLength(1);
    const e = setup({ consecutiveFailures: 1 }).d;
    expect(e.recordFailure('i0', ids(2))).toBe(true);
    expect(e.recordFailure('i1', ids(2))).toBe(false);
  });

  it('lets back the instances due soonest when the set shrinks under the ejected ones', () => {
    const { d, advance } = setup({ consecutiveFailures: 1 });
    d.recordFailure('i0', ids(6));
    advance(100);
    d.recordFailure('i1', ids(6));
    advance(100);
    d.recordFailure('i2', ids(6));
    // Now only i0, i1, i2, i3 remain: at most 2 may stay out; i0 (due first) comes back.
    expect(d.available(set(4)).map((i) => i.id)).toEqual(['i0', 'i3']);
  });

  it('returns the same array when nothing is ejected and changes its version on ejection and return', () => {
    const { d, advance } = setup({ consecutiveFailures: 1 });
    const s = set(4);
    expect(d.available(s)).toBe(s);
    const v0 = d.version;
    d.recordFailure('i0', ids(4));
    const v1 = d.version;
    expect(v1).not.toBe(v0);
    advance(2_000);
    expect(d.version).not.toBe(v1);
    expect(d.available(s)).toBe(s);
  });

  it('a maxEjectedFraction of 0 turns ejection off', () => {
    const { d } = setup({ consecutiveFailures: 1, maxEjectedFraction: 0 });
    expect(d.recordFailure('i0', ids(10))).toBe(false);
  });
});
