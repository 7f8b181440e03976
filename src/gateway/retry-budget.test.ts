import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.js';

describe('retry budget', () => {
  it('allows the reserve, then a share of the requests, and refills the reserve with time', () => {
    let now = 0;
    const b = new RetryBudget({ ratio: 0.2, minPerSecond: 2, now: () => now });
    expect(b.withdraw()).toBe(true);
    expect(b.withdraw()).toBe(true);
    expect(b.withdraw()).toBe(false);
    for (let i = 0; i < 10; i++) b.deposit();
    expect(b.withdraw()).toBe(true);
    expect(b.withdraw()).toBe(true);
    expect(b.withdraw()).toBe(false);
    now += 500;
    expect(b.withdraw()).toBe(true);
    expect(b.withdraw()).toBe(false);
    now += 10_000;
    expect(b.withdraw()).toBe(true);
    expect(b.withdraw()).toBe(true);
    expect(b.withdraw()).toBe(false);
  });
});
