import { describe, expect, it } from 'vitest';
import { makeInstances, seededRandom } from './balancer.test-suite.js';
import { createBalancer } from './index.js';
import type { BalancerInstance } from './types.js';

function fakeClock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Runs `picks` sequential calls where instance id → latency, advancing the clock by it. */
function drive(latency: (id: string) => number, set: readonly BalancerInstance[], picks: number, seed = 1) {
  const clock = fakeClock();
  const lb = createBalancer('p2c-ewma', { random: seededRandom(seed), now: clock.now });
  const counts = new Map<string, number>(set.map((i) => [i.id, 0]));
  for (let i = 0; i < picks; i++) {
    const inst = lb.pick(set)!;
    const end = lb.start(inst);
    clock.advance(latency(inst.id));
    end({ latencyMs: latency(inst.id) });
    counts.set(inst.id, counts.get(inst.id)! + 1);
  }
  return { counts, lb, clock };
}

describe('p2c-ewma', () => {
  it('prefers low-latency instances', () => {
    const set = makeInstances(4);
    const { counts } = drive((id) => (id === 'i0' ? 2 : 40), set, 2_000);
    // The fast instance wins every pair it is drawn into: about 1 - (3/4 × 2/3) = 1/2 of picks.
    expect(counts.get('i0')! / 2_000).toBeGreaterThan(0.4);
    for (const id of ['i1', 'i2', 'i3']) expect(counts.get(id)! / 2_000).toBeLessThan(0.25);
  });

  it('never picks the worse of two instances when latencies are known and nothing is in flight', () => {
    const set = makeInstances(2);
    const { lb } = drive((id) => (id === 'i0' ? 5 : 50), set, 20);
    for (let i = 0; i < 50; i++) expect(lb.pick(set)!.id).toBe('i0');
  });

  it('weighs latency by calls in flight, so a fast instance is not piled on', () => {
    const set = makeInstances(2);
    const clock = fakeClock();
    const lb = createBalancer('p2c-ewma', { random: seededRandom(3), now: clock.now });
    lb.start(set[0])({ latencyMs: 10 });
    lb.start(set[1])({ latencyMs: 30 });
    const open = [lb.start(set[0]), lb.start(set[0]), lb.start(set[0])];
    // i0 costs 10 × 4 = 40 > i1's 30 × 1.
    expect(lb.pick(set)!.id).toBe('i1');
    open.forEach((end) => end({ latencyMs: 10 }));
    expect(lb.pick(set)!.id).toBe('i0');
  });

  it('counts failures as slow and probes an idle instance again once its average decays', () => {
    const set = makeInstances(2);
    const clock = fakeClock();
    const lb = createBalancer('p2c-ewma', { random: seededRandom(4), now: clock.now, decayMs: 1_000, failurePenaltyMs: 500 });
    lb.start(set[0])({ failed: true, latencyMs: 1 });
    lb.start(set[1])({ latencyMs: 20 });
    expect(lb.pick(set)!.id).toBe('i1');
    // After 5 s idle i0's 500 ms has decayed to ≈ 3.4 ms, below i1's fresh 20 ms: i0 is probed again.
    clock.advance(5_000);
    lb.start(set[1])({ latencyMs: 20 });
    expect(lb.pick(set)!.id).toBe('i0');
  });

  it('does not pile onto an instance with no latency history while its first calls are pending', () => {
    const set = makeInstances(2);
    const lb = createBalancer('p2c-ewma', { random: seededRandom(6), now: fakeClock().now });
    lb.start(set[1])({ latencyMs: 50 });
    const pending = lb.start(set[0]);
    expect(lb.pick(set)!.id).toBe('i1');
    pending({ latencyMs: 1 });
    expect(lb.pick(set)!.id).toBe('i0');
  });
});
