import { describe, expect, it } from 'vitest';
import { makeInstances, seededRandom } from './balancer.test-suite.js';
import { createBalancer } from './index.js';
import type { EndCall } from './types.js';

describe('least-in-flight', () => {
  it('always picks an instance with the fewest calls in flight', () => {
    const set = makeInstances(4);
    const lb = createBalancer('least-in-flight', { random: seededRandom(5) });
    const open = new Map<string, EndCall[]>(set.map((i) => [i.id, []]));
    const rnd = seededRandom(11);
    for (let step = 0; step < 2_000; step++) {
      if (rnd() < 0.55) {
        const inst = lb.pick(set)!;
        const min = Math.min(...set.map((i) => open.get(i.id)!.length));
        expect(open.get(inst.id)!.length).toBe(min);
        open.get(inst.id)!.push(lb.start(inst));
      } else {
        const busy = set.filter((i) => open.get(i.id)!.length > 0);
        if (busy.length === 0) continue;
        const victim = busy[Math.floor(rnd() * busy.length)];
        open.get(victim.id)!.pop()!({ latencyMs: 1 });
      }
    }
  });

  it('moves traffic away from an instance whose calls hang', () => {
    const set = makeInstances(3);
    const lb = createBalancer('least-in-flight');
    const stuck = set[0];
    for (let i = 0; i < 5; i++) lb.start(stuck);
    for (let i = 0; i < 100; i++) {
      const inst = lb.pick(set)!;
      expect(inst).not.toBe(stuck);
      lb.start(inst)();
    }
  });

  it('forgets calls once they end', () => {
    const set = makeInstances(2);
    const lb = createBalancer('least-in-flight', { random: seededRandom(2) });
    const end = lb.start(set[0]);
    expect(lb.pick(set)).toBe(set[1]);
    end();
    end();
    const seen = new Set(Array.from({ length: 50 }, () => lb.pick(set)!.id));
    expect(seen).toEqual(new Set(['i0', 'i1']));
  });
});
