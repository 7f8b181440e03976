import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { expiredOutput, TtlCheck } from './ttl-check.js';
import type { CheckResult } from './types.js';

// Every test runs on the fake clock: expiry is asserted to the millisecond, whatever the load.
beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TtlCheck', () => {
  it("expires to critical with Consul's output unless touched in time", () => {
    const fired: CheckResult[] = [];
    const t = new TtlCheck(150, '', (r) => fired.push(r));
    // Touched every 100 ms: each update restarts the 150 ms TTL, so it never runs out.
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(100);
      t.touch(`beat ${i}`);
    }
    expect(fired).toEqual([]);
    expect(t.expired).toBe(false);
    // 150 ms after the last update, not before, it turns critical with the last output.
    vi.advanceTimersByTime(149);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([{ status: 'critical', output: 'TTL expired (last output before timeout follows): beat 3' }]);
    expect(t.expired).toBe(true);
    // Expiry is reported once, not again every TTL.
    vi.advanceTimersByTime(1000);
    expect(fired).toHaveLength(1);
    // A later update re-arms it.
    t.touch('');
    expect(t.expired).toBe(false);
    vi.advanceTimersByTime(149);
    expect(fired).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(fired).toHaveLength(2);
    expect(fired.at(-1)).toEqual({ status: 'critical', output: 'TTL expired' });
    t.stop();
  });

  it('waits out a TTL longer than one Node timer can (720h), and a heartbeat still restarts it', () => {
    const DAY = 86_400_000;
    const fired: CheckResult[] = [];
    const t = new TtlCheck(30 * DAY, 'ok', (r) => fired.push(r));
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(20 * DAY);
    t.touch('still ok');
    vi.advanceTimersByTime(29 * DAY);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(DAY + 1000);
    expect(fired).toEqual([{ status: 'critical', output: 'TTL expired (last output before timeout follows): still ok' }]);
    t.stop();
  });

  it('does not fire once stopped, nor after a late update', () => {
    const fired: CheckResult[] = [];
    const t = new TtlCheck(50, '', (r) => fired.push(r));
    vi.advanceTimersByTime(49);
    t.stop();
    t.touch('late');
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([]);
    expect(expiredOutput('')).toBe('TTL expired');
  });
});
