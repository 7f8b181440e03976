import { describe, expect, it } from 'vitest';
import { nextIndex, parseIndex, rearm } from './blocking-index.js';

describe('X-Consul-Index parsing', () => {
  it('accepts non-negative integers only', () => {
    expect(parseIndex('42')).toBe(42);
    expect(parseIndex(['7', '8'])).toBe(7);
    expect(parseIndex(' 5 ')).toBe(5);
    for (const bad of [undefined, '', 'abc', '-1', '1.5', '99999999999999999999']) expect(parseIndex(bad)).toBeUndefined();
  });
});

describe('index rules', () => {
  it('follows the index forward', () => {
    expect(nextIndex(0, 10)).toBe(10);
    expect(nextIndex(10, 12)).toBe(12);
    expect(nextIndex(10, 10)).toBe(10);
  });

  it('resets to 0 (a fresh non-blocking read) when the index goes backwards', () => {
    expect(nextIndex(100, 40)).toBe(0);
    expect(nextIndex(2, 1)).toBe(0);
  });

  it('treats 0 as invalid: blocks on 1 instead', () => {
    expect(nextIndex(0, 0)).toBe(1);
  });

  it('falls back to non-blocking reads when there is no usable index', () => {
    expect(nextIndex(10, undefined)).toBe(0);
  });
});

describe('re-arm pacing', () => {
  const opts = { jitterMs: 20, minBlockMs: 50, pollMs: 2_000 };

  it('re-arms after a small random pause when the index moved or the wait ran out', () => {
    for (const r of [0, 0.5, 0.999]) {
      expect(rearm({ sent: 10, next: 11, elapsedMs: 3, spins: 4 }, opts, () => r)).toEqual({ delayMs: r * 20, spins: 0 });
      expect(rearm({ sent: 10, next: 10, elapsedMs: 60_000, spins: 2 }, opts, () => r).spins).toBe(0);
      expect(rearm({ sent: 0, next: 10, elapsedMs: 1, spins: 0 }, opts, () => r).delayMs).toBe(r * 20);
    }
  });

  it('backs off, doubling, when blocking queries return fast without progress, up to pollMs', () => {
    let spins = 0;
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const step = rearm({ sent: 10, next: 10, elapsedMs: 1, spins }, opts, () => 1);
      spins = step.spins;
      delays.push(step.delayMs);
    }
    expect(delays.slice(0, 4)).toEqual([50, 100, 200, 400]);
    expect(Math.max(...delays)).toBe(2_000);
  });

  it('does not spin on a server that answers index 0: reset and 0→1 alternate with growing pauses', () => {
    let spins = 0;
    let index = 0;
    let total = 0;
    for (let i = 0; i < 20; i++) {
      const sent = index;
      index = nextIndex(sent, 0);
      const step = rearm({ sent, next: index, elapsedMs: 1, spins }, opts, () => 1);
      spins = step.spins;
      total += step.delayMs;
    }
    // 20 queries over at least several seconds, not in a tight loop.
    expect(total).toBeGreaterThan(5_000);
  });

  it('polls every pollMs (jittered) when the server sends no index at all', () => {
    const step = rearm({ sent: 0, next: 0, elapsedMs: 1, spins: 0 }, opts, () => 0);
    expect(step.delayMs).toBe(1_000);
    expect(rearm({ sent: 0, next: 0, elapsedMs: 1, spins: 0 }, opts, () => 1).delayMs).toBe(2_000);
  });
});
