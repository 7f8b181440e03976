import type { Registry } from 'prom-client';
import type { CheckListener, CheckRecord, HealthStatus, Indexed } from '../catalog/index.js';
import type { RuntimeConfig, Logger } from '../config/index.js';

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

/** The server's structured logger. */
export type HealthLogger = Logger;

// ---- the seams ------------------------------------------------------------------------------
// Health holds no store. It learns which checks exist from a CheckSource, writes what it finds
// through a StatusSink, and keeps nodes alive through Sessions. A server passes its catalog,
// the catalog's commands and CatalogSessions, which satisfy these shapes as they are; the
// per-host agent passes its own.

/** Which checks exist, and every change to them. */
export interface CheckSource {
  /** Every check known now. */
  checksInState(state: 'any'): { readonly value: readonly Indexed<CheckRecord>[] };
  /** One check by node and ID. */
  check(node: string, checkId: string): Indexed<CheckRecord> | undefined;
  /**
   * Follows every check exactly: `changed` with each put or delete as applied, `reloaded` when
   * anything may have changed (a re-list). Returns an unsubscribe.
   */
  onCheckChange(listener: CheckListener): () => void;
}

/** Where health writes what it finds. */
export interface StatusSink {
  /**
   * Sets a check's Status and Output and nothing else, guarded against concurrent writers (a
   * re-registration is never overwritten). Resolves `written: false` when the check is gone or
   * already says this; rejects when it could not be written.
   */
  setCheckStatus(node: string, checkId: string, want: CheckResult): Promise<{ written: boolean }>;
  /** Deregisters a service with its checks (DeregisterCriticalServiceAfter). Resolves false when it was gone. */
  deregisterService(node: string, serviceId: string): Promise<boolean>;
  /**
   * Shows a status that could not be written yet in every answer until it is (`undefined`
   * stops showing it), so a failing store never leaves a dead instance answered as passing.
   * Optional: a sink without it only writes.
   */
  setPending?(node: string, checkId: string, want: CheckResult | undefined): void;
}

/** Identifies one session of a node; opaque. */
export type SessionId = string;

/** One session this process holds for a node. */
export interface Session {
  readonly id: SessionId;
  /** Refreshes it once. Resolves false when the session is gone (lapsed or ended); rejects when unsure (store away). */
  keepAlive(): Promise<boolean>;
  /** Puts the node's session mark back on this session if it is missing. Resolves false when the session is gone. */
  restore(): Promise<boolean>;
  /** Ends it: with `revoke` at once (watchers see the node down), else it lapses after its TTL. */
  end(opts?: { revoke?: boolean }): Promise<void>;
}

/** A node's session came (up) or went (down). */
export interface SessionEvent {
  node: string;
  up: boolean;
  /** The session that came, or the one that went (undefined when not known). */
  session: SessionId | undefined;
}

export interface SessionListener {
  /** Sessions that came or went, in order. */
  changed(events: readonly SessionEvent[]): void;
  /** The watch was set up again from a fresh list: `live` holds every node with a session now. */
  reloaded(live: ReadonlyMap<string, SessionId>): void;
  /** The watch failed for a reason worth logging; it is being set up again. */
  broken?(err: Error): void;
}

export interface SessionWatch {
  /** Every node holding a session when the watch started. */
  readonly initial: ReadonlyMap<string, SessionId>;
  cancel(): void;
}

/** Node liveness: one session (lease) per node, never one per check. */
export interface Sessions {
  /** Opens a session for `node` lasting `ttlSeconds` past each keep-alive, ending one the node still held. */
  open(node: string, ttlSeconds: number): Promise<Session>;
  /** Follows every node's session from now on. */
  watch(listener: SessionListener): Promise<SessionWatch>;
}

// ---- configuration ---------------------------------------------------------------------------

/** Knobs of the health subsystem that are not user configuration (each has a default; tests shorten them). */
export interface HealthOptions {
  /** TTL of this node's session, in seconds (default 10). */
  sessionTtlSeconds: number;
  /** An output-only change of a check is written at most this often (default 5 min, Consul's check_update_interval). */
  outputUpdateIntervalMs: number;
  /** How often the DeregisterCriticalServiceAfter reaper looks (default 1 s, ±10 % jitter). */
  reaperTickMs: number;
  /** Smallest DeregisterCriticalServiceAfter honoured; shorter values act as this (default 1 s; Consul's is 1 min). */
  reapFloorMs: number;
  /** Full re-scan of the check source, a safety net behind its change feed (default 30 s, with jitter). */
  rescanIntervalMs: number;
  /**
   * Whether this process runs the check `checkId` of `node` (a node's `serfHealth`: whether it
   * keeps that node's liveness). Single-server mode: every check. Cluster mode swaps in
   * rendezvous hashing over live servers.
   */
  owns(node: string, checkId: string): boolean;
}

/** What the health subsystem uses from the configuration. */
export type HealthConfig = Pick<RuntimeConfig, 'node' | 'checks'>;

export interface HealthDeps {
  /** Which checks exist (a server: its catalog). */
  source: CheckSource;
  /** Where status changes go (a server: `catalog.commands`). */
  sink: StatusSink;
  /** Node sessions (a server: CatalogSessions over its store). */
  sessions: Sessions;
  /** `node`: this process's node, whose session it holds; `checks`: the script-check flags and FailuresBeforeCritical. */
  config: HealthConfig;
  logger: HealthLogger;
  /** Prometheus registry to add the beacon_health_* metrics to. */
  registry?: Registry;
  options?: Partial<HealthOptions>;
}

/** What the health subsystem offers the layers above it (the agent HTTP routes, cluster forwarding). */
export interface HealthApi {
  /**
   * TTL check update: resets the check's timer; writes only a status change (and output
   * changes, rate-limited). A check that is unknown, not a TTL check, or not owned here:
   * BEACON_ERR_CHECK_NOT_TTL (`CheckID "<id>" does not have associated TTL`).
   */
  updateTtl(node: string, checkId: string, status: HealthStatus, output: string): Promise<void>;
}

/** The running health subsystem. */
export interface Health {
  start(): Promise<void>;
  /** Stops every runner and timer; the session is left to lapse unless `revoke` (a clean leave). */
  stop(opts?: { revoke?: boolean }): Promise<void>;
  /**
   * What `options.owns` answers changed (cluster mode: a server joined or left): takes up the
   * checks this process owns now (a TTL check starts a fresh timer) and stops the ones it no
   * longer owns, at once.
   */
  ownershipChanged(): void;
  readonly api: HealthApi;
}
