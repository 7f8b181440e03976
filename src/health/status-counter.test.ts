import { describe, expect, it } from 'vitest';
import { StatusCounter, thresholdsOf } from './status-counter.js';

const pass = { status: 'passing', output: 'ok' } as const;
const warn = { status: 'warning', output: 'slow' } as const;
const fail = { status: 'critical', output: 'down' } as const;

describe('thresholdsOf', () => {
  it('uses the server default for FailuresBeforeCritical and defaults FailuresBeforeWarning to it', () => {
    expect(thresholdsOf({}, 2)).toEqual({ successBeforePassing: 0, failuresBeforeWarning: 2, failuresBeforeCritical: 2 });
    expect(thresholdsOf({ FailuresBeforeCritical: 3, FailuresBeforeWarning: 1, SuccessBeforePassing: 2 }, 2)).toEqual({
      successBeforePassing: 2,
      failuresBeforeWarning: 1,
      failuresBeforeCritical: 3,
    });
  });
});

describe('StatusCounter', () => {
  it('reports critical only after FailuresBeforeCritical failures in a row', () => {
    const c = new StatusCounter(thresholdsOf({}, 2));
    expect(c.feed(pass)).toEqual(pass);
    expect(c.feed(fail)).toBeUndefined();
    expect(c.consecutiveFailures).toBe(1);
    expect(c.feed(fail)).toEqual(fail);
    // A success in between starts the count again.
    expect(c.feed(warn)).toEqual(warn);
    expect(c.feed(fail)).toBeUndefined();
    expect(c.feed(pass)).toEqual(pass);
    expect(c.feed(fail)).toBeUndefined();
  });

  it('reports warning between FailuresBeforeWarning and FailuresBeforeCritical', () => {
    const c = new StatusCounter(thresholdsOf({ FailuresBeforeWarning: 1, FailuresBeforeCritical: 3 }, 2));
    expect(c.feed(fail)).toEqual({ status: 'warning', output: 'down' });
    expect(c.feed(fail)).toEqual({ status: 'warning', output: 'down' });
    expect(c.feed(fail)).toEqual(fail);
  });

  it('waits for SuccessBeforePassing successes in a row', () => {
    const c = new StatusCounter(thresholdsOf({ SuccessBeforePassing: 3 }, 1));
    expect(c.feed(pass)).toBeUndefined();
    expect(c.feed(pass)).toBeUndefined();
    expect(c.feed(fail)).toEqual(fail);
    expect(c.feed(pass)).toBeUndefined();
    expect(c.feed(pass)).toBeUndefined();
    expect(c.feed(pass)).toEqual(pass);
  });
});
