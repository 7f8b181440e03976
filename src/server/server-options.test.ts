import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVER_OPTIONS, resolveServerOptions, withServerDefaults } from './server-options.js';

describe('server options', () => {
  it('pins the defaults (golden)', () => {
    expect(resolveServerOptions({})).toEqual({ shutdownGraceMs: 5000, antiEntropy: { intervalMs: 30_000, debounceMs: 1000 } });
    expect(withServerDefaults()).toEqual(DEFAULT_SERVER_OPTIONS);
  });

  it('reads the shutdown grace as a Go duration, from 1s to 10m', () => {
    expect(resolveServerOptions({ shutdownGrace: '10s' }).shutdownGraceMs).toBe(10_000);
    expect(resolveServerOptions({ shutdownGrace: '1m30s' }).shutdownGraceMs).toBe(90_000);
    for (const bad of ['500ms', '11m', 'soon', '-5s']) {
      expect(() => resolveServerOptions({ shutdownGrace: bad })).toThrow(/^invalid shutdownGrace: ".*" must be a duration like 5s or 1m, from 1s to 10m0s$/);
    }
  });

  it('raises values set in code to their floors', () => {
    expect(withServerDefaults({ shutdownGraceMs: 1, antiEntropy: { intervalMs: 1, debounceMs: 0 } })).toEqual({
      shutdownGraceMs: 1000,
      antiEntropy: { intervalMs: 100, debounceMs: 10 },
    });
  });
});
