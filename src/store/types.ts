/**
 * The store contract: a revisioned key-value store with leases and watch, shaped after
 * etcd's v3 API so that the embedded driver and the etcd driver behave the same way.
 * Every state Beacon keeps lives behind this interface (docs/architecture.md, "store").
 */

/** A lease id as a decimal string ("0" means no lease), like etcd's int64 lease ids. */
export type LeaseId = string;
export const NO_LEASE: LeaseId = '0';

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the put that created this key (since its last delete). */
  createRevision: number;
  /** Revision of the last put to this key. */
  modRevision: number;
  /** Number of puts since creation (1 after the first put). */
  version: number;
  lease: LeaseId;
}

export type WatchEvent =
  | { type: 'put'; kv: KeyValue; prevKv?: KeyValue }
  /** For a delete, `kv.modRevision` is the revision of the delete and `kv.value` is ''. */
  | { type: 'delete'; kv: KeyValue; prevKv?: KeyValue };

/** All events of one store revision (one write or one transaction), in order. */
export interface WatchBatch {
  revision: number;
  events: WatchEvent[];
}

export interface WatchOptions {
  /** Key prefix to watch ('' watches everything). */
  prefix: string;
  /**
   * First revision to deliver (inclusive). 0 means "changes after now". A revision at or below
   * the store's compacted revision makes the watch fail with BEACON_ERR_COMPACTED.
   */
  fromRevision: number;
  /** Called once per revision, in revision order, with no gaps among matching revisions. */
  onBatch(batch: WatchBatch): void;
  /** Called at most once; the watch is over after it (BEACON_ERR_COMPACTED: re-list and watch again). */
  onError(err: Error): void;
}

export interface WatchHandle {
  cancel(): void;
}

export type CompareTarget = 'value' | 'version' | 'createRevision' | 'modRevision';

/** A txn guard. A missing key has version/createRevision/modRevision 0 and value ''. */
export interface Compare {
  key: string;
  target: CompareTarget;
  op: '==' | '!=' | '<' | '>';
  value: number | string;
}

export type TxnOp = { type: 'put'; key: string; value: string; lease?: LeaseId } | { type: 'delete'; key: string } | { type: 'deletePrefix'; prefix: string };

export interface TxnResult {
  succeeded: boolean;
  /** Store revision after the txn (unchanged if it wrote nothing). */
  revision: number;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** Store revision at which the range was read. */
  revision: number;
}

export interface PutOptions {
  lease?: LeaseId;
}

export interface StoreStats {
  driver: string;
  revision: number;
  compactedRevision: number;
  keys: number;
  leases: number;
}

/**
 * The store contract. Writes resolve only once durable (embedded: fsynced to disk; etcd:
 * committed by a quorum). Every write that changes something bumps the revision by exactly one.
 */
export interface Store {
  readonly driver: 'embedded' | 'etcd';

  get(key: string): Promise<KeyValue | undefined>;
  /** Keys starting with `prefix`, sorted by key. */
  range(prefix: string): Promise<RangeResult>;
  put(key: string, value: string, opts?: PutOptions): Promise<{ revision: number }>;
  /** Deleting a missing key is not an error and does not bump the revision. */
  delete(key: string): Promise<{ revision: number; deleted: number }>;
  deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }>;
  /** If every compare holds, apply `success`, else `failure`; all in one revision. */
  txn(compares: Compare[], success: TxnOp[], failure?: TxnOp[]): Promise<TxnResult>;
  /** The current revision; on etcd a linearizable (quorum) read. */
  currentRevision(): Promise<number>;

  /** Grant a lease of `ttlSeconds` (at least 1). */
  grant(ttlSeconds: number): Promise<LeaseId>;
  /** Refresh a lease once; resolves to its TTL in seconds; BEACON_ERR_LEASE_NOT_FOUND if gone. */
  keepAlive(lease: LeaseId): Promise<number>;
  /** Revoke a lease, deleting every key attached to it in one revision. Unknown lease: no-op. */
  revoke(lease: LeaseId): Promise<void>;

  watch(opts: WatchOptions): WatchHandle;

  /** Discard history at or below `revision` (watchers from older revisions get COMPACTED). */
  compact(revision: number): Promise<void>;
  stats(): Promise<StoreStats>;
  /** Flush and release everything; later calls fail with BEACON_ERR_STORE_CLOSED. */
  close(): Promise<void>;
}
