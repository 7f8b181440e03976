import type { Catalog } from '../../catalog/index.js';
import type { RuntimeConfig } from '../../config/index.js';
import type { Store } from '../../store/index.js';
import type { HttpMetrics } from './metrics.js';
import type { ResponseCache } from './response-cache.js';

/** What the health subsystem offers the HTTP API (TTL updates, maintenance, check lifecycle). */
export interface HealthApi {
  /** TTL check update: resets the owner's timer, writes only on a status or output change. */
  updateTtl(checkId: string, status: 'passing' | 'warning' | 'critical', output: string): Promise<void>;
  /** Enables or disables maintenance for a service (serviceId) or the node (serviceId undefined). */
  setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Everything the HTTP routes use. */
export interface HttpContext {
  config: RuntimeConfig;
  store: Store;
  catalog: Catalog;
  metrics: HttpMetrics;
  /** Encoded answers of plain reads, served before routing while their index holds. */
  responseCache: ResponseCache;
  logger: Logger;
  /** Set once the health subsystem runs; TTL routes answer 500 without it. */
  health?: HealthApi;
  /** Aborted when the server shuts down: blocking queries return at once. */
  shutdownSignal: AbortSignal;
  /** Per-process secret that marks this server's own config-file registrations (script policy). */
  localSecret: string;
  /** Server start time (ms since epoch), for agent/self. */
  startedAt: number;
  version: string;
}
