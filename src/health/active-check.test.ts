import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActiveCheck } from './active-check.js';
import { StatusCounter, thresholdsOf } from './status-counter.js';
import type { CheckResult, RunContext, Runner } from './types.js';

/** Runs at fake-clock times relative to the start of the test. */
class ScriptedRunner implements Runner {
  runs: number[] = [];
  signals: AbortSignal[] = [];
  constructor(
    private readonly results: (CheckResult | 'hang')[],
    private readonly t0: number,
  ) {}
  run(ctx: RunContext): Promise<CheckResult> {
    this.runs.push(Date.now() - this.t0);
    this.signals.push(ctx.signal);
    const r = this.results[Math.min(this.runs.length - 1, this.results.length - 1)];
    if (r === 'hang')
      return new Promise(() => {
        /* ignores its signal on purpose */
      });
    return Promise.resolve(r);
  }
}

// Every test runs on the fake clock (timers and Date): the schedule is asserted exactly,
// whatever the load on the machine.
beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('ActiveCheck', () => {
  it('staggers the first run inside the interval and re-runs a first failure at once', async () => {
    const runner = new ScriptedRunner(
      [
        { status: 'passing', output: '' },
        { status: 'critical', output: 'x' },
      ],
      Date.now(),
    );
    const reports: CheckResult[] = [];
    const ac = new ActiveCheck({
      runner,
      intervalMs: 1000,
      timeoutMs: 500,
      random: () => 0.1,
      counter: new StatusCounter(thresholdsOf({}, 2)),
      report: (r) => reports.push(r),
    });
    ac.start();
    // First run at 100 ms (stagger 0.1 × 1 s), not before.
    await vi.advanceTimersByTimeAsync(99);
    expect(runner.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.runs).toEqual([100]);
    expect(reports).toEqual([{ status: 'passing', output: '' }]);
    // The second run, one interval after the first started, fails; its retry follows at once
    // (a zero-delay timer: 1 ms, the smallest step a timer takes), so the second failure turns
    // the check critical without waiting another interval.
    await vi.advanceTimersByTimeAsync(1000);
    expect(runner.runs.slice(0, 2)).toEqual([100, 1100]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.runs).toEqual([100, 1100, 1101]);
    expect(reports).toEqual([
      { status: 'passing', output: '' },
      { status: 'critical', output: 'x' },
    ]);
    // After that, back to one run per interval from the retry.
    await vi.advanceTimersByTimeAsync(999);
    expect(runner.runs).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.runs).toEqual([100, 1100, 1101, 2101]);
    ac.stop();
  });

  it('bounds a run by its timeout even when the runner ignores the signal', async () => {
    const runner = new ScriptedRunner(['hang'], Date.now());
    const reports: CheckResult[] = [];
    const ac = new ActiveCheck({
      runner,
      intervalMs: 1000,
      timeoutMs: 100,
      random: () => 0,
      counter: new StatusCounter(thresholdsOf({}, 1)),
      report: (r) => reports.push(r),
    });
    ac.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runner.runs).toEqual([0]);
    // The timeout aborts the run's signal...
    await vi.advanceTimersByTimeAsync(99);
    expect(runner.signals[0].aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.signals[0].aborted).toBe(true);
    // ...and a runner that ignores it gets one more second, then the run ends as critical.
    await vi.advanceTimersByTimeAsync(999);
    expect(reports).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(reports).toEqual([{ status: 'critical', output: 'Timed out after 100 ms' }]);
    ac.stop();
  });

  it('waits out an interval longer than one Node timer can (40 days)', async () => {
    const DAY = 86_400_000;
    const runner = new ScriptedRunner([{ status: 'passing', output: '' }], Date.now());
    const ac = new ActiveCheck({
      runner,
      intervalMs: 40 * DAY,
      timeoutMs: 1000,
      random: () => 0.5,
      counter: new StatusCounter(thresholdsOf({}, 2)),
      report: () => undefined,
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
    const runner = new ScriptedRunner([{ status: 'passing', output: '' }], Date.now());
    const ac = new ActiveCheck({
      runner,
      intervalMs: 10,
      timeoutMs: 10,
      random: () => 0,
      counter: new StatusCounter(thresholdsOf({}, 2)),
      report: () => undefined,
    });
    ac.start();
    await vi.advanceTimersByTimeAsync(3500);
    ac.stop();
    expect(runner.runs).toEqual([0, 1000, 2000, 3000]);
  });

  it('stops running once stopped', async () => {
    const runner = new ScriptedRunner([{ status: 'passing', output: '' }], Date.now());
    const ac = new ActiveCheck({
      runner,
      intervalMs: 1000,
      timeoutMs: 100,
      random: () => 0,
      counter: new StatusCounter(thresholdsOf({}, 2)),
      report: () => undefined,
    });
    ac.start();
    await vi.advanceTimersByTimeAsync(1500);
    expect(runner.runs).toEqual([0, 1000]);
    ac.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runner.runs).toEqual([0, 1000]);
  });
});
