import { HealthManager } from './manager.js';
import type { Health, HealthDeps } from './types.js';

export type { CheckResult, Health, HealthApi, HealthDeps, HealthLogger, HealthOptions, Runner, RunContext } from './types.js';
export { DEFAULT_HEALTH_OPTIONS, SCRIPTS_DISABLED_OUTPUT } from './manager.js';
export { SESSION_PREFIX, SERF_CHECK_ID, ALIVE_OUTPUT, DEAD_OUTPUT, sessionKey } from './liveness.js';
export { DEFAULT_NODE_MAINT_REASON, DEFAULT_SERVICE_MAINT_REASON } from './maintenance.js';
export { OUTPUT_MAX_BYTES, capOutput } from './output.js';
export { ownsEverything } from './ownership.js';
export {
  encodeHealthCheckRequest, decodeHealthCheckRequest, encodeHealthCheckResponse, decodeHealthCheckResponse, HEALTH_CHECK_METHOD,
} from './runners/index.js';

/**
 * Creates the health subsystem of a server. Call `start()` once the catalog runs (and after
 * the server registered itself); put `api` where the HTTP routes find it; `stop()` before the
 * catalog stops.
 *
 * @example
 * const health = createHealth({ catalog, store, config, logger, registry: metrics.registry });
 * await health.start();
 * ctx.health = health.api;
 * // ... on shutdown:
 * await health.stop();
 */
export function createHealth(deps: HealthDeps): Health {
  return new HealthManager(deps);
}
