/**
 * Catalog records. Field names are Consul's (PascalCase) so that API responses are built
 * from them with no renaming. Records are stored in the store as JSON under keys.ts.
 */

export type HealthStatus = 'passing' | 'warning' | 'critical';
/** Aggregated status of an instance: maintenance outranks critical. */
export type AggregatedStatus = HealthStatus | 'maintenance';

export interface Weights {
  Passing: number;
  Warning: number;
}

export interface TaggedServiceAddress {
  Address: string;
  Port: number;
}

export interface NodeRecord {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
}

/** Definition of a check as registered (what a runner needs to run it). */
export interface CheckDefinition {
  HTTP?: string;
  Method?: string;
  Header?: Record<string, string[]>;
  Body?: string;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  Args?: string[];
  /** Durations in milliseconds. */
  IntervalMs?: number;
  TimeoutMs?: number;
  TTLMs?: number;
  DeregisterCriticalServiceAfterMs?: number;
  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;
  OutputMaxSize?: number;
  /**
   * A script check that came from this server's local config file: --enable-local-script-checks
   * runs only these (one registered through the API while --enable-script-checks was on does
   * not run after a restart without it).
   */
  LocalScript?: boolean;
}

export type CheckType = 'ttl' | 'http' | 'tcp' | 'grpc' | 'script' | 'serf' | 'maintenance' | '';

export interface CheckRecord {
  Node: string;
  CheckID: string;
  Name: string;
  Status: HealthStatus;
  Notes: string;
  Output: string;
  /** '' for node-level checks. */
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: CheckType;
  Definition: CheckDefinition;
}

export interface ServiceRecord {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses: Record<string, TaggedServiceAddress>;
  Meta: Record<string, string>;
  Port: number;
  Weights: Weights;
  EnableTagOverride: boolean;
  Kind: string;
}

/** A record with the store revisions that created and last modified it. */
export interface Indexed<T> {
  readonly record: T;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** One service instance with its node and every check that applies to it (node checks first). */
export interface InstanceView {
  node: Indexed<NodeRecord>;
  service: Indexed<ServiceRecord>;
  checks: Indexed<CheckRecord>[];
  status: AggregatedStatus;
}

export interface NodeView {
  node: Indexed<NodeRecord>;
  services: Indexed<ServiceRecord>[];
  checks: Indexed<CheckRecord>[];
}

/** A read result with the index a blocking query compares against (never 0). */
export interface Versioned<T> {
  value: T;
  index: number;
}

export interface InstanceQuery {
  /** Every tag must be present. */
  tags?: string[];
  /** Every key:value pair must be in the node's Meta. */
  nodeMeta?: Record<string, string>;
  /** Keep only instances whose every check is passing. */
  passingOnly?: boolean;
  /** Drop instances whose aggregated status is critical or maintenance (DNS); with 'passing' also warning. */
  healthFilter?: 'none' | 'not-critical' | 'passing';
}

/**
 * What a blocking query waits on. A change to a topic wakes every waiter on it.
 * svc:<name> — instances or checks of a service (node checks too); node:<name>; and the tables.
 */
export type Topic = `svc:${string}` | `node:${string}` | 'table:services' | 'table:nodes' | 'table:checks';

/** One check written or deleted, as the catalog applied it. */
export interface CheckChange {
  node: string;
  checkId: string;
  /** The check as now stored; undefined when it was deleted. */
  check: Indexed<CheckRecord> | undefined;
}

/** Follows every check of the catalog exactly (the health checkers). */
export interface CheckListener {
  /** Checks written or deleted in one store revision, in order. */
  changed(changes: readonly CheckChange[], revision: number): void;
  /** The view was re-listed (after a broken or compacted watch): anything may have changed. */
  reloaded(): void;
}

/**
 * One record as it was before and after one applied store event (undefined: absent). The
 * event history derives its events from these, so every server derives the same ones.
 */
export type RecordChange =
  | { kind: 'node'; node: string; id: string; before: NodeRecord | undefined; after: NodeRecord | undefined }
  | { kind: 'service'; node: string; id: string; before: ServiceRecord | undefined; after: ServiceRecord | undefined }
  | { kind: 'check'; node: string; id: string; before: CheckRecord | undefined; after: CheckRecord | undefined };

/** Follows every record change of the catalog in revision order (the event history). */
export interface RecordListener {
  /** The records one store revision changed, in order. */
  changed(changes: readonly RecordChange[], revision: number): void;
  /** The view was re-listed at `revision`: changes after `fromRevision` up to it were not seen one by one. */
  reloaded(fromRevision: number, revision: number): void;
}
