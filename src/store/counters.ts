import type { Store } from './types.js';

/**
 * Plain counters and gauges a driver keeps about itself, for the server to expose as
 * Prometheus metrics (names in src/store/README.md). Counters only grow; gauges are current.
 */
export interface StoreCounters {
  /** beacon_store_commits_total: disk commits (each one fsync, holding one or more writes). */
  commits: number;
  /** beacon_store_revisions_total: revisions committed (writes that changed something). */
  revisions: number;
  /** beacon_store_commit_duration_seconds_sum (its _count is `commits`). */
  commitSeconds: number;
  /** beacon_store_commit_batch_max: the most revisions one commit carried since start. */
  commitBatchMax: number;
  /** beacon_store_lease_expiries_total: leases that lapsed (not revoked). */
  leaseExpiries: number;
  /** beacon_store_watchers: watches currently open. */
  watchers: number;
  /** beacon_store_history_revisions: revisions kept in memory for watch replay. */
  historyRevisions: number;
  /** beacon_store_disk_bytes: bytes on disk (database plus write-ahead log). */
  diskBytes: number;
  /** beacon_store_writable: 1 while the store takes writes, 0 from a failed commit until one succeeds again. */
  writable: number;
  /** beacon_store_commit_failures_total: commits that failed (disk full, I/O error); their writes were refused. */
  commitFailures: number;
}

/** A store driver that keeps {@link StoreCounters}. */
export interface CountingStore extends Store {
  counters(): StoreCounters;
}

/**
 * The driver's counters, or undefined when the driver keeps none.
 *
 * @example
 * const c = storeCounters(store);
 * if (c) commitsGauge.set(c.commits);
 */
export function storeCounters(store: Store): StoreCounters | undefined {
  const s = store as Partial<CountingStore>;
  return typeof s.counters === 'function' ? s.counters() : undefined;
}

/** A store driver that can count the keys under a prefix without reading their values. */
export interface KeyCountingStore extends Store {
  /** Keys starting with `prefix` at the current revision. */
  countKeys(prefix: string): Promise<number>;
}

/**
 * How many keys start with `prefix`: the driver's own count when it keeps one (no values
 * read), else the length of a range (which reads every value under the prefix).
 *
 * @example
 * const services = await countKeys(store, 'services/');
 */
export async function countKeys(store: Store, prefix: string): Promise<number> {
  const s = store as Partial<KeyCountingStore>;
  return typeof s.countKeys === 'function' ? s.countKeys(prefix) : (await store.range(prefix)).kvs.length;
}
