import { formatDuration, parseDuration } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import type { AntiEntropyOptions } from './anti-entropy.js';

/** Knobs of the server process itself, each with a default and a floor. */
export interface ServerOptions {
  /**
   * On shutdown, how long requests already running may take to finish before their
   * connections are cut (default 5 s, at least 1 s, at most 10 min).
   */
  shutdownGraceMs: number;
  /** Anti-entropy of this server's node: full pass every 30 s (±10 %), a change looked at after 1 s. */
  antiEntropy: AntiEntropyOptions;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = Object.freeze({
  shutdownGraceMs: 5000,
  antiEntropy: Object.freeze({ intervalMs: 30_000, debounceMs: 1000 }),
});

const GRACE_MIN_MS = 1000;
const GRACE_MAX_MS = 600_000;
/** Floors of the anti-entropy knobs (tests shorten them; nothing may make them spin). */
const AE_INTERVAL_MIN_MS = 100;
const AE_DEBOUNCE_MIN_MS = 10;

/** The raw form, as the CLI reads it (`--shutdown-grace 10s`, `BEACON_SHUTDOWN_GRACE`). */
export interface RawServerOptions {
  shutdownGrace?: string;
}

/**
 * Validates the raw options once into {@link ServerOptions}. A value out of range answers
 * BEACON_ERR_CONFIG naming it.
 *
 * @example
 * resolveServerOptions({ shutdownGrace: '10s' }).shutdownGraceMs; // 10000
 */
export function resolveServerOptions(raw: RawServerOptions): ServerOptions {
  let shutdownGraceMs = DEFAULT_SERVER_OPTIONS.shutdownGraceMs;
  if (raw.shutdownGrace !== undefined) {
    const ms = parseDuration(raw.shutdownGrace);
    if (ms === undefined || ms < GRACE_MIN_MS || ms > GRACE_MAX_MS) {
      throw new BeaconError(
        'BEACON_ERR_CONFIG',
        `invalid shutdownGrace: "${raw.shutdownGrace}" must be a duration like 5s or 1m, from ${formatDuration(GRACE_MIN_MS)} to ${formatDuration(GRACE_MAX_MS)}`,
        { field: 'shutdownGrace' },
      );
    }
    shutdownGraceMs = ms;
  }
  return { shutdownGraceMs, antiEntropy: DEFAULT_SERVER_OPTIONS.antiEntropy };
}

/** Fills in defaults and applies the floors (for options built in code, as tests do). */
export function withServerDefaults(o: Partial<ServerOptions> = {}): ServerOptions {
  const ae = { ...DEFAULT_SERVER_OPTIONS.antiEntropy, ...o.antiEntropy };
  return {
    shutdownGraceMs: Math.min(Math.max(o.shutdownGraceMs ?? DEFAULT_SERVER_OPTIONS.shutdownGraceMs, GRACE_MIN_MS), GRACE_MAX_MS),
    antiEntropy: {
      intervalMs: Math.max(ae.intervalMs, AE_INTERVAL_MIN_MS),
      debounceMs: Math.max(ae.debounceMs, AE_DEBOUNCE_MIN_MS),
    },
  };
}
