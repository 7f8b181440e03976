import { describe, expect, it } from 'vitest';
import { EventHistory } from './history.js';
import { hold, type BeaconEvent } from './types.js';

const ev = (revision: number, time = 0): BeaconEvent => ({ revision, time, kind: 'node-registered', datacenter: 'dc1', node: `n${revision}` });

describe('EventHistory', () => {
  it('answers events after a revision, in order, and says when it no longer reaches back', () => {
    const h = new EventHistory({ maxEvents: 100, maxAgeMs: 60_000 }, 10);
    for (let r = 11; r <= 20; r++) h.append(hold(ev(r)));
    expect(h.after(15).map((e) => e.event.revision)).toEqual([16, 17, 18, 19, 20]);
    expect(h.holdsAfter(10)).toBe(true);
    expect(h.holdsAfter(9)).toBe(false);
    expect(h.countAfter(18)).toBe(2);
  });

  it('keeps at most maxEvents, moving the floor past what it dropped (whole revisions)', () => {
    const h = new EventHistory({ maxEvents: 100, maxAgeMs: 60_000 }, 0);
    for (let r = 1; r <= 250; r++) {
      h.append(hold(ev(r)));
      h.append(hold(ev(r)));
    }
    expect(h.size).toBeLessThanOrEqual(100);
    expect(h.floor).toBe(200);
    expect(h.oldest).toBe(201);
    expect(h.holdsAfter(199)).toBe(false);
    expect(h.after(200)).toHaveLength(100);
    expect(h.estimatedBytes).toBeGreaterThan(100 * 50);
  });

  it('drops events older than the age limit', () => {
    const h = new EventHistory({ maxEvents: 1000, maxAgeMs: 1000 }, 0);
    h.append(hold(ev(1, 0)));
    h.append(hold(ev(2, 500)));
    h.append(hold(ev(3, 1500)));
    h.expire(1600);
    expect(h.after(0).map((e) => e.event.revision)).toEqual([3]);
    expect(h.floor).toBe(2);
  });

  it('returns whole revisions in chunks', () => {
    const h = new EventHistory({ maxEvents: 1000, maxAgeMs: 60_000 }, 0);
    for (let r = 1; r <= 3; r++) for (let i = 0; i < 3; i++) h.append(hold(ev(r)));
    expect(h.after(0, 4).map((e) => e.event.revision)).toEqual([1, 1, 1, 2, 2, 2]);
  });
});
