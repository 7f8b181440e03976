import { describe, expect, it } from 'vitest';
import { BLOCKING_MARGIN_MS, FORWARD_TIMEOUT_MS, forwardTimeoutMs } from './wan-forward.js';

describe('forwardTimeoutMs', () => {
  it('bounds a plain read, and a blocking query by its wait plus the jitter and a margin (10 min at most)', () => {
    expect(forwardTimeoutMs({})).toEqual({ timeoutMs: FORWARD_TIMEOUT_MS, blocking: false });
    expect(forwardTimeoutMs({ index: '0', wait: '1s' })).toEqual({ timeoutMs: FORWARD_TIMEOUT_MS, blocking: false });
    expect(forwardTimeoutMs({ index: '5', wait: '16s' })).toEqual({ timeoutMs: 17_000 + BLOCKING_MARGIN_MS, blocking: true });
    expect(forwardTimeoutMs({ index: '5' }).timeoutMs).toBe(Math.ceil(300_000 * (17 / 16)) + BLOCKING_MARGIN_MS);
    expect(forwardTimeoutMs({ index: '5', wait: '1h' }).timeoutMs).toBe(Math.ceil(600_000 * (17 / 16)) + BLOCKING_MARGIN_MS);
  });

  it('refuses a bad wait naming it', () => {
    expect(() => forwardTimeoutMs({ index: '5', wait: 'forever' })).toThrow(/Invalid wait time/);
  });
});
