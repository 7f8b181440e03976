import { describe, expect, it } from 'vitest';
import { hash53, rendezvousOwner } from './rendezvous.js';

const keys = Array.from({ length: 3000 }, (_, i) => `node-${i % 50}\u0000service:web-${i}`);

describe('rendezvousOwner', () => {
  it('has no owner without members, and the only member owns everything', () => {
    expect(rendezvousOwner('k', [])).toBeUndefined();
    expect(rendezvousOwner('k', ['a'])).toBe('a');
  });

  it('does not depend on the order the members are listed in', () => {
    for (const k of keys.slice(0, 200)) expect(rendezvousOwner(k, ['a', 'b', 'c'])).toBe(rendezvousOwner(k, ['c', 'a', 'b']));
  });

  it('shares keys out roughly evenly', () => {
    const count = new Map<string, number>();
    for (const k of keys) {
      const o = rendezvousOwner(k, ['s1', 's2', 's3'])!;
      count.set(o, (count.get(o) ?? 0) + 1);
    }
    expect([...count.keys()].sort()).toEqual(['s1', 's2', 's3']);
    for (const n of count.values()) expect(n).toBeGreaterThan(keys.length / 3 / 1.3);
  });

  it('moves only the leaving member’s keys when one leaves, and about a quarter when one joins', () => {
    let moved = 0;
    let joined = 0;
    for (const k of keys) {
      const before = rendezvousOwner(k, ['s1', 's2', 's3'])!;
      const after = rendezvousOwner(k, ['s1', 's3'])!;
      if (before !== 's2') expect(after).toBe(before);
      else moved++;
      const four = rendezvousOwner(k, ['s1', 's2', 's3', 's4'])!;
      if (four !== before) {
        expect(four).toBe('s4');
        joined++;
      }
    }
    expect(moved).toBeGreaterThan(0);
    expect(joined).toBeGreaterThan(keys.length / 4 / 1.3);
    expect(joined).toBeLessThan((keys.length / 4) * 1.3);
  });

  it('hashes to a safe integer', () => {
    for (const k of keys.slice(0, 100)) expect(Number.isSafeInteger(hash53(k))).toBe(true);
  });
});
