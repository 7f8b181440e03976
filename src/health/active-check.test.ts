import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActiveCheck } from './active-check.js';
import { StatusCounter, thresholdsOf } from './status-counter.js';
import type { CheckResult, RunContext, Runner } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class ScriptedRunner implements Runner {
  runs: number[] = [];
  constructor(private readonly results: (CheckResult | 'hang')[]) {}
  run(ctx: RunContext): Promise<CheckResult> {
    this.runs.push(Date.now());
    const r = this.results[Math.min(this.runs.length - 1, this.results.length - 1)]!;
    if (r === 'hang') return new Promise(() => { /* ignores its signal on purpose */ void ctx; });
    return Promise.resolve(r);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ActiveCheck', () => {
  it('staggers the first run inside the interval and re-runs a first failure at once', async () => {
    const runner = new ScriptedRunner([{ status: 'passing', output: '' }, { status: 'critical', output: 'x' }]);
    const reports: CheckResult[] = [];
    const started = Date.now();
    const ac = new ActiveCheck({
      runner, intervalMs: 1000, timeoutMs: 500, random: () => 0.1,
      counter: new StatusCounter(thresholdsOf({}, 2)), report: (r) => reports.push(r),
    });
    ac.start();
    await sleep(1400);
    ac.stop();
    // First run at ~100 ms (stagger 0.1 × 1 s), second at ~1.1 s fails, its retry follows at once.
    expect(runner.runs.length).toBe(3);
    expect(runner.runs[0]! - started).toBeGreaterThanOrEqual(90);
    expect(runner.runs[0]! - started).toBeLessThan(400);
    expect(runner.runs[2]! - runner.runs[1]!).toBeLessThan(100);
    expect(reports).toEqual([{ status: 'passing', output: '' }, { status: 'critical', output: 'x' }]);
  });

  it('bounds a run by its timeout even when the runner ignores the signal', async () => {
    const runner = new ScriptedRunner(['hang']);
    const reports: CheckResult[] = [];
    const ac = new ActiveCheck({
      runner, intervalMs: 1000, timeoutMs: 100, random: () => 0,
      counter: new StatusCounter(thresholdsOf({}, 1)), report: (r) => reports.push(r),
    });
    ac.start();
    await sleep(1300);
    ac.stop();
    expect(reports[0]).toEqual({ status: 'critical', output: 'Timed out after 100 ms' });
  });

  it('waits out an interval longer than one Node timer can (40 days)', async () => {
    vi.useFakeTimers();
    const DAY = 86_400_000;
    const runner = new ScriptedRunner([{ status: 'passing', output: '' }]);
    const ac = new ActiveCheck({
      runner, intervalMs: 40 * DAY, timeoutMs: 1000, random: () => 0.5,
      counter: new StatusCounter(thresholdsOf({}, 2)), report: () => undefined,
    });
    ac.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runner.runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(20 * DAY);
    expect(runner.runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(39 * DAY);
    expect(runner.runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(DAY);
    expect(runner.runs).toHaveLength(2);
    ac.stop();
  });

  it('never runs more often than once a second', async () => {
    const runner = new ScriptedRunner([{ status: 'passing', output: '' }]);
    const ac = new ActiveCheck({
      runner, intervalMs: 10, timeoutMs: 10, random: () => 0,
      counter: new StatusCounter(thresholdsOf({}, 2)), report: () => undefined,
    });
    ac.start();
    await sleep(1500);
    ac.stop();
    expect(runner.runs.length).toBe(2);
  });
});
