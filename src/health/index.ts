import { HealthManager } from './manager.js';
import type { Health, HealthDeps } from './types.js';

export type {
  CheckResult,
  CheckSource,
  Health,
  HealthApi,
  HealthConfig,
  HealthDeps,
  HealthLogger,
  HealthOptions,
  Runner,
  RunContext,
  Session,
  SessionEvent,
  SessionId,
  SessionListener,
  Sessions,
  SessionWatch,
  StatusSink,
} from './types.js';
export { DEFAULT_HEALTH_OPTIONS, SCRIPTS_DISABLED_OUTPUT } from './manager.js';
export { SERF_CHECK_ID, ALIVE_OUTPUT, DEAD_OUTPUT } from './liveness.js';
export { OUTPUT_MAX_BYTES, capOutput } from './output.js';
export { ownsEverything } from './ownership.js';
export {
  encodeHealthCheckRequest,
  decodeHealthCheckRequest,
  encodeHealthCheckResponse,
  decodeHealthCheckResponse,
  HEALTH_CHECK_METHOD,
} from './runners/index.js';

/**
 * Creates the health subsystem. It holds no store: it reads checks from `source`, writes what
 * it finds through `sink`, and keeps its node alive through `sessions`. Call `start()` once the
 * source is current (and after the node registered itself); `stop()` before the source stops.
 *
 * @example
 * const health = createHealth({
 *   source: catalog, sink: catalog.commands, sessions: new CatalogSessions(store),
 *   config, logger, registry: metrics.registry,
 * });
 * await health.start();
 * await health.api.updateTtl(config.node, 'service:web-1', 'passing', 'ok');
 * // ... on shutdown:
 * await health.stop();
 */
export function createHealth(deps: HealthDeps): Health {
  return new HealthManager(deps);
}
