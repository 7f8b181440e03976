import { describe, expect, it } from 'vitest';
import { makeInstances, seededRandom } from './balancer.test-suite.js';
import { createBalancer } from './index.js';

describe('round-robin', () => {
  it('rotates exactly: every instance once per cycle, in set order', () => {
    const set = makeInstances(5);
    const lb = createBalancer('round-robin', { random: seededRandom(9) });
    const first = lb.pick(set)!;
    const start = set.indexOf(first);
    for (let i = 1; i < 5 * 20; i++) expect(lb.pick(set)).toBe(set[(start + i) % 5]);
  });

  it('gives each instance exactly k picks out of k × n', () => {
    const set = makeInstances(7);
    const lb = createBalancer('round-robin');
    const counts = new Map<string, number>();
    for (let i = 0; i < 7 * 300; i++) {
      const id = lb.pick(set)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual(Array(7).fill(300));
  });

  it('starts at a random point, so clients started together spread out', () => {
    const set = makeInstances(10);
    const firsts = new Set(Array.from({ length: 40 }, (_, s) => createBalancer('round-robin', { random: seededRandom(s + 1) }).pick(set)!.id));
    expect(firsts.size).toBeGreaterThan(3);
  });
});
