import { describe, expect, it } from 'vitest';
import { FlapTracker, FLAP_THRESHOLD } from './flapping.js';

describe('FlapTracker', () => {
  it('marks a check flapping past the threshold within the window, and not once the window has passed', () => {
    const f = new FlapTracker(FLAP_THRESHOLD, 60_000);
    const marks = Array.from({ length: FLAP_THRESHOLD + 1 }, (_, i) => f.transition('a', i * 1000));
    expect(marks.slice(0, FLAP_THRESHOLD).every((m) => !m)).toBe(true);
    expect(marks[FLAP_THRESHOLD]).toBe(true);
    expect(f.flapping('a', 10_000)).toBe(true);
    expect(f.flapping('a', 200_000)).toBe(false);
    expect(f.transition('a', 200_000)).toBe(false);
  });

  it('keeps checks apart and forgets deleted ones', () => {
    const f = new FlapTracker(2, 60_000);
    for (let i = 0; i < 3; i++) f.transition('a', i);
    expect(f.transition('b', 5)).toBe(false);
    expect(f.flapping('a', 10)).toBe(true);
    f.forget('a');
    expect(f.flapping('a', 10)).toBe(false);
  });
});
