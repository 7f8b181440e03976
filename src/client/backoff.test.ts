import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, jitter, sleep } from './backoff.js';

describe('backoffDelay', () => {
  const opts = { baseMs: 100, maxMs: 5_000 };

  it('stays within [ceiling/2, ceiling] where the ceiling doubles per attempt up to maxMs', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(5_000, 100 * 2 ** attempt);
      for (const r of [0, 0.25, 0.5, 0.999]) {
        const d = backoffDelay(attempt, opts, () => r);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('spreads clients that failed together (jitter), while growing on average', () => {
    const samples = Array.from({ length: 200 }, () => backoffDelay(3, opts));
    expect(new Set(samples.map((s) => Math.round(s))).size).toBeGreaterThan(50);
    const mean = (a: number) => Array.from({ length: 500 }, () => backoffDelay(a, opts)).reduce((x, y) => x + y) / 500;
    expect(mean(4)).toBeGreaterThan(mean(1) * 3);
  });

  it('survives absurd attempt numbers', () => {
    expect(backoffDelay(10_000, opts, () => 1)).toBe(5_000);
    expect(backoffDelay(-3, opts, () => 1)).toBe(100);
  });
});

describe('jitter', () => {
  it('keeps values within ±fraction', () => {
    for (const r of [0, 0.5, 0.9999]) {
      const v = jitter(1_000, 0.1, () => r);
      expect(v).toBeGreaterThanOrEqual(900);
      expect(v).toBeLessThanOrEqual(1_100);
    }
    expect(jitter(1_000, 0.1, () => 0.5)).toBe(1_000);
  });
});

describe('sleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after its time, or early when aborted, and then holds no timer', async () => {
    vi.useFakeTimers();
    let slept = false;
    void sleep(10_000).then(() => (slept = true));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(slept).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(slept).toBe(true);

    const ac = new AbortController();
    let woke = false;
    void sleep(10_000, ac.signal).then(() => (woke = true));
    await vi.advanceTimersByTimeAsync(100);
    expect(woke).toBe(false);
    ac.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(woke).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    // Already aborted: resolves without waiting at all.
    let at = false;
    void sleep(10_000, ac.signal).then(() => (at = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(at).toBe(true);
  });
});
