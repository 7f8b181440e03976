import type { Registry } from 'prom-client';
import type { Catalog, CheckRecord, HealthStatus } from '../catalog/index.js';
import type { RuntimeConfig } from '../config/index.js';
import type { Store } from '../store/index.js';

/** The outcome of one run of a check, or the status a TTL update asks for. */
export interface CheckResult {
  status: HealthStatus;
  output: string;
}

/** What a runner gets for one run: abort when the timeout passes or the check stops. */
export interface RunContext {
  signal: AbortSignal;
  timeoutMs: number;
}

/** One kind of active check (HTTP, TCP, gRPC, script). A run never throws: failures are critical results. */
export interface Runner {
  run(ctx: RunContext): Promise<CheckResult>;
  /** Releases what the runner keeps between runs (a gRPC channel). */
  close?(): void;
}

/** Structured logger (pino-compatible). */
export interface HealthLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Knobs of the health subsystem that are not user configuration (each has a default; tests shorten them). */
export interface HealthOptions {
  /** TTL of this server's session lease, in seconds (default 10). */
  sessionTtlSeconds: number;
  /** An output-only change of a check is written at most this often (default 5 min, Consul's check_update_interval). */
  outputUpdateIntervalMs: number;
  /** How often the DeregisterCriticalServiceAfter reaper looks (default 1 s, ±10 % jitter). */
  reaperTickMs: number;
  /** Smallest DeregisterCriticalServiceAfter honoured; shorter values act as this (default 1 s; Consul's is 1 min). */
  reapFloorMs: number;
  /** Full re-scan of the catalog, a safety net behind the change feed (default 30 s, with jitter). */
  rescanIntervalMs: number;
  /**
   * Whether this server runs a check. Single-server mode: every check. Cluster mode swaps in
   * rendezvous hashing over live servers.
   */
  owns(check: Pick<CheckRecord, 'Node' | 'CheckID' | 'ServiceID'>): boolean;
}

export interface HealthDeps {
  catalog: Catalog;
  store: Store;
  config: RuntimeConfig;
  logger: HealthLogger;
  /** Prometheus registry to add the beacon_health_* metrics to. */
  registry?: Registry;
  options?: Partial<HealthOptions>;
}

/**
 * What the health subsystem offers the HTTP API. It matches `HealthApi` in
 * src/api/http/context.ts (health may not import the API layer, so the shape is repeated).
 */
export interface HealthApi {
  /**
   * TTL check update on this server's node: resets the check's timer; writes only a status
   * change (and output changes, rate-limited). Unknown or non-TTL check: BEACON_ERR_CHECK_NOT_TTL.
   */
  updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void>;
  /**
   * Maintenance mode for a service of this node (serviceId) or for the node itself. Unknown
   * service: BEACON_ERR_NOT_FOUND with Consul's text.
   */
  setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void>;
}

/** The running health subsystem. */
export interface Health {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly api: HealthApi;
}
