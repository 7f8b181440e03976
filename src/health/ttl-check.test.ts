import { afterEach, describe, expect, it, vi } from 'vitest';
import { expiredOutput, TtlCheck } from './ttl-check.js';
import type { CheckResult } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  vi.useRealTimers();
});

describe('TtlCheck', () => {
  it('expires to critical with Consul\'s output unless touched in time', async () => {
    const fired: CheckResult[] = [];
    const t = new TtlCheck(150, '', (r) => fired.push(r));
    for (let i = 0; i < 4; i++) {
      await sleep(60);
      t.touch(`beat ${i}`);
    }
    expect(fired).toEqual([]);
    await sleep(250);
    expect(fired).toEqual([{ status: 'critical', output: 'TTL expired (last output before timeout follows): beat 3' }]);
    expect(t.expired).toBe(true);
    // A later update re-arms it.
    t.touch('');
    await sleep(250);
    expect(fired.at(-1)).toEqual({ status: 'critical', output: 'TTL expired' });
    t.stop();
  });

  it('waits out a TTL longer than one Node timer can (720h), and a heartbeat still restarts it', () => {
    vi.useFakeTimers();
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

  it('does not fire once stopped', async () => {
    const fired: CheckResult[] = [];
    const t = new TtlCheck(50, '', (r) => fired.push(r));
    t.stop();
    await sleep(120);
    expect(fired).toEqual([]);
    expect(expiredOutput('')).toBe('TTL expired');
  });
});
