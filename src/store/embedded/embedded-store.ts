/**
 * The embedded store driver: keys and their metadata in memory, values and durability in
 * SQLite (WAL, fsync on commit), group commit once per event-loop tick. See src/store/README.md.
 */
import { BeaconError } from '../../errors/index.js';
import type { StoreCounters } from '../counters.js';
import type { StoreHealth } from '../health.js';
import { silentLogger, type StoreLogger } from '../logger.js';
import {
  NO_LEASE,
  type Compare,
  type KeyValue,
  type LeaseId,
  type PutOptions,
  type RangeResult,
  type Store,
  type StoreStats,
  type TxnOp,
  type TxnResult,
  type WatchBatch,
  type WatchEvent,
  type WatchHandle,
  type WatchOptions,
} from '../types.js';
import { KeySpace } from './key-space.js';
import { LeaseTable } from './lease-table.js';
import { rowProblem } from './schema.js';
import { SqliteFile } from './sqlite-file.js';
import { checkKey, checkPrefix, checkRevision, checkTtl, checkTxn, checkValue, compareHolds } from './txn-check.js';
import { Values } from './values.js';
import { WatchHub } from './watch-hub.js';
import { WriteHealth } from './write-health.js';

export interface EmbeddedStoreOptions {
  /** Directory holding `beacon.db`; created if missing. */
  dataDir: string;
  logger?: StoreLogger;
  /** Revisions kept in memory for watch replay (default 10,000, at least 100). */
  historyRevisions?: number;
  /** How long to wait for another process's lock on the database before failing (default 1000 ms). */
  lockTimeoutMs?: number;
  /**
   * Start even though the start-up checks find damage: set it aside, continue with what is
   * readable, drop damaged keys, and log what was lost (`beacon server --recover`).
   */
  recover?: boolean;
}

/** Default and floor of {@link EmbeddedStoreOptions.historyRevisions}. */
export const DEFAULT_HISTORY_REVISIONS = 10_000;
export const MIN_HISTORY_REVISIONS = 100;
/** How often the write-ahead log is checkpointed and truncated when there were writes (±10 % jitter). */
const CHECKPOINT_INTERVAL_MS = 60_000;
const NO_KVS: ReadonlyMap<string, KeyValue | null> = new Map();
const NO_LEASES: ReadonlyMap<string, number | null> = new Map();

/** One key's change in a write: its previous state (read before anything is staged) and, for a put, the new value. */
interface Change {
  key: string;
  prev: KeyValue | undefined;
  put?: { value: string; lease: LeaseId };
}

interface Waiter {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  value: unknown;
}

/**
 * A {@link Store} in this process, durable on local disk: a write resolves once fsynced, and
 * watchers only ever see committed revisions.
 *
 * @example
 * const store = await EmbeddedStore.open({ dataDir: '/var/lib/beacon' });
 * const { revision } = await store.put('services/web-1', '{"Port":80}');
 * await store.close();
 */
export class EmbeddedStore implements Store {
  readonly driver = 'embedded' as const;
  private readonly file: SqliteFile;
  private readonly logger: StoreLogger;
  private readonly space: KeySpace;
  private readonly values: Values;
  private readonly leases: LeaseTable;
  private readonly hub: WatchHub;
  /** Last revision handed out (committed or staged). */
  private revision: number;
  private committedRevision: number;
  private pendingBatches: WatchBatch[] = [];
  private waiters: Waiter[] = [];
  private metaDirty = false;
  private immediate: NodeJS.Immediate | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private writesSinceCheckpoint = false;
  private closing: Promise<void> | undefined;
  private readonly writeHealth: WriteHealth;
  private readonly tally = { commits: 0, revisions: 0, commitSeconds: 0, commitBatchMax: 0, leaseExpiries: 0 };

  private constructor(file: SqliteFile, opts: EmbeddedStoreOptions) {
    this.file = file;
    this.logger = opts.logger ?? silentLogger;
    const historyRevisions = Math.max(MIN_HISTORY_REVISIONS, Math.floor(opts.historyRevisions ?? DEFAULT_HISTORY_REVISIONS));
    const state = file.load();
    this.revision = state.revision;
    this.committedRevision = state.revision;
    this.space = new KeySpace();
    this.leases = new LeaseTable(state.nextLeaseId, (id) => this.expire(id));
    // One string per lease id, shared by the keys that name it (rows each read a fresh copy).
    const leaseIds = new Map<string, LeaseId>([[NO_LEASE, NO_LEASE]]);
    for (const l of state.leases) {
      this.leases.restore(l.id, l.ttl);
      leaseIds.set(l.id, l.id);
    }
    let orphans = 0;
    for (const [key, createRevision, modRevision, version, rowLease] of file.keys()) {
      const problem = rowProblem(key, createRevision, modRevision, version, rowLease, state.revision);
      if (problem !== undefined) throw file.damagedKey(String(key), problem);
      let lease = leaseIds.get(rowLease);
      if (lease === undefined) leaseIds.set(rowLease, (lease = rowLease));
      this.space.load(key, { createRevision, modRevision, version, lease });
      if (lease === NO_LEASE) continue;
      if (this.leases.has(lease)) this.leases.attach(lease, key);
      else orphans++;
    }
    this.space.finishLoad();
    this.values = new Values(this.space, file);
    if (orphans > 0) this.logger.warn({ path: file.path, keys: orphans }, 'store keys name leases missing from the database; they will not expire');
    // History up to the reloaded revision is gone: watches from it answer COMPACTED. A store
    // never written to (revision 1) has lost nothing, so a watch from revision 1 works there.
    this.hub = new WatchHub(state.revision, state.revision <= 1 ? 0 : state.revision, historyRevisions, this.logger);
    this.writeHealth = new WriteHealth(file.path, this.logger, () => this.probe());
    this.scheduleCheckpoint();
    this.logger.info(
      { path: file.path, revision: state.revision, keys: this.space.size, leases: state.leases.length, checkMs: Math.round(file.checked.ms) },
      'embedded store opened',
    );
  }

  /**
   * Opens the store in `opts.dataDir`, creating it if needed, after checking it (see
   * src/store/README.md, "Start-up checks").
   * Fails with BEACON_ERR_STARTUP (naming the path) if the directory or database cannot be
   * opened, or another process holds it, and with BEACON_ERR_STORE_CORRUPT (naming the file and
   * what was found) if the data is damaged and `opts.recover` is not set.
   */
  static open(opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    // Synchronous work; the executor turns a throw into the rejection callers expect.
    return new Promise((resolve) => {
      const file = SqliteFile.open(opts.dataDir, { lockTimeoutMs: opts.lockTimeoutMs ?? 1000, recover: opts.recover, logger: opts.logger ?? silentLogger });
      try {
        resolve(new EmbeddedStore(file, opts));
      } catch (err) {
        file.close();
        throw err instanceof BeaconError
          ? err
          : new BeaconError('BEACON_ERR_STARTUP', `cannot load the store database ${file.path}: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.run(() => this.values.get(key));
  }

  range(prefix: string): Promise<RangeResult> {
    return this.run(() => {
      checkPrefix(prefix);
      return { kvs: this.values.range(prefix), revision: this.committedRevision };
    });
  }

  put(key: string, value: string, opts?: PutOptions): Promise<{ revision: number }> {
    return this.write(() => {
      checkKey(key);
      checkValue(value);
      const change: Change = { key, prev: this.values.current(key), put: { value, lease: this.checkLease(opts?.lease) } };
      const revision = ++this.revision;
      this.stageBatch(revision, [this.apply(change, revision)]);
      return { revision };
    });
  }

  delete(key: string): Promise<{ revision: number; deleted: number }> {
    return this.write(() => {
      checkKey(key);
      const prev = this.values.current(key);
      if (prev === undefined) return { revision: this.revision, deleted: 0 };
      const revision = ++this.revision;
      this.stageBatch(revision, [this.apply({ key, prev }, revision)]);
      return { revision, deleted: 1 };
    });
  }

  deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }> {
    return this.write(() => {
      checkPrefix(prefix);
      const changes = this.space.currentKeysWithPrefix(prefix).map((key): Change => ({ key, prev: this.values.current(key) }));
      if (changes.length === 0) return { revision: this.revision, deleted: 0 };
      const revision = ++this.revision;
      this.stageBatch(
        revision,
        changes.map((c) => this.apply(c, revision)),
      );
      return { revision, deleted: changes.length };
    });
  }

  txn(compares: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    return this.write(() => {
      checkTxn(compares, success, failure);
      const succeeded = compares.every((c) => {
        const cur = this.space.current(c.key);
        return compareHolds(c, cur, () => (cur === undefined ? '' : this.values.valueOf(c.key, cur)));
      });
      // Plan every change (reading previous values) before staging any, so a failed read changes nothing.
      const changes: Change[] = [];
      const planned = new Set<string>();
      const plan = (key: string, put?: Change['put']): void => {
        if (planned.has(key)) return;
        planned.add(key);
        const prev = this.values.current(key);
        if (put !== undefined || prev !== undefined) changes.push({ key, prev, put });
      };
      for (const op of succeeded ? success : failure) {
        if (op.type === 'put') plan(op.key, { value: op.value, lease: this.checkLease(op.lease) });
        else if (op.type === 'delete') plan(op.key);
        else for (const k of this.space.currentKeysWithPrefix(op.prefix)) plan(k);
      }
      if (changes.length === 0) return { succeeded, revision: this.revision };
      const revision = ++this.revision;
      this.stageBatch(
        revision,
        changes.map((c) => this.apply(c, revision)),
      );
      return { succeeded, revision };
    });
  }

  currentRevision(): Promise<number> {
    return this.run(() => this.committedRevision);
  }

  grant(ttlSeconds: number): Promise<LeaseId> {
    return this.write(() => {
      checkTtl(ttlSeconds);
      this.metaDirty = true;
      return this.leases.grant(ttlSeconds);
    });
  }

  keepAlive(lease: LeaseId): Promise<number> {
    return this.run(() => {
      const ttl = this.leases.keepAlive(lease);
      if (ttl === undefined) throw new BeaconError('BEACON_ERR_LEASE_NOT_FOUND', `lease ${lease} not found (it expired or was revoked)`);
      return ttl;
    });
  }

  revoke(lease: LeaseId): Promise<void> {
    return this.write(() => {
      this.revokeNow(lease);
    });
  }

  watch(opts: WatchOptions): WatchHandle {
    try {
      this.checkOpen();
      checkPrefix(opts.prefix, 'prefix');
      checkRevision(opts.fromRevision, 'fromRevision');
    } catch (err) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) opts.onError(err as Error);
      });
      return { cancel: () => (cancelled = true) };
    }
    return this.hub.add(opts);
  }

  compact(revision: number): Promise<void> {
    return this.run(() => {
      checkRevision(revision, 'revision');
      if (revision > this.committedRevision) {
        throw new BeaconError('BEACON_ERR_VALIDATION', `cannot compact to revision ${revision}: the current revision is ${this.committedRevision}`, {
          field: 'revision',
        });
      }
      this.hub.compact(revision);
      this.metaDirty = true;
    });
  }

  stats(): Promise<StoreStats> {
    return this.run(() => ({
      driver: this.driver,
      revision: this.committedRevision,
      compactedRevision: this.hub.compacted,
      keys: this.space.size,
      leases: this.leases.size,
    }));
  }

  /** Committed keys starting with `prefix`, counted in memory (no value is read). */
  countKeys(prefix: string): Promise<number> {
    return this.run(() => {
      checkPrefix(prefix);
      return this.space.countWithPrefix(prefix);
    });
  }

  /** Counters for metrics (see {@link StoreCounters}); works after close too. */
  counters(): StoreCounters {
    return {
      ...this.tally,
      watchers: this.hub.size,
      historyRevisions: this.hub.historyLength,
      diskBytes: this.file.diskBytes(),
      writable: this.writeHealth.writable ? 1 : 0,
      commitFailures: this.writeHealth.failures,
    };
  }

  /**
   * Whether the store takes writes: false from a failed commit (disk full, I/O error) until a
   * later one succeeds, which the store keeps trying by itself; false after close.
   *
   * @example
   * const { writable, lastError } = store.health();
   */
  health(): StoreHealth {
    return this.writeHealth.current;
  }

  /**
   * Calls `listener` whenever `health().writable` changes; returns the function that stops it.
   *
   * @example
   * const stop = store.onHealthChange((h) => console.log(h.writable ? 'writable' : `not writable: ${h.lastError}`));
   */
  onHealthChange(listener: (health: StoreHealth) => void): () => void {
    return this.writeHealth.onChange(listener);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Synchronous work; the executor turns a throw into a rejection of close(). */
  private shutdown(): Promise<void> {
    return new Promise((resolve) => {
      this.leases.stopTimers();
      clearTimeout(this.checkpointTimer);
      if (this.immediate !== undefined) clearImmediate(this.immediate);
      this.commit();
      this.writeHealth.stop();
      this.hub.failAll(new BeaconError('BEACON_ERR_STORE_CLOSED', 'the store was closed'));
      try {
        this.file.checkpoint(true);
      } catch (err) {
        this.logger.warn({ err, path: this.file.path }, 'checkpointing the store on close failed; the log is replayed at next open');
      }
      this.file.close();
      this.logger.info({ path: this.file.path, revision: this.committedRevision }, 'embedded store closed');
      resolve();
    });
  }

  // ---- writes -------------------------------------------------------------------------------

  /** Runs a read: rejects if the store is closed, or `fn` throws. */
  private run<T>(fn: () => T): Promise<T> {
    try {
      this.checkOpen();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Runs a write: `fn` stages its changes synchronously (or throws, having changed nothing);
   * the result resolves once the next group commit is on disk. A write that staged nothing
   * still waits for writes staged before it, so its answer never reflects state not yet durable.
   */
  private write<T>(fn: () => T): Promise<T> {
    let value: T;
    try {
      this.checkOpen();
      value = fn();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({ resolve: resolve, reject, value });
      this.immediate ??= setImmediate(() => this.commit());
    });
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new BeaconError('BEACON_ERR_STORE_CLOSED', 'the store is closed');
  }

  private checkLease(lease: LeaseId | undefined): LeaseId {
    if (lease === undefined || lease === NO_LEASE) return NO_LEASE;
    if (!this.leases.has(lease))
      throw new BeaconError('BEACON_ERR_LEASE_NOT_FOUND', `lease ${lease} not found (it expired or was revoked)`, { field: 'lease' });
    return lease;
  }

  /** Stages one planned change and returns its watch event. */
  private apply(change: Change, revision: number): WatchEvent {
    const { key, prev, put } = change;
    if (prev !== undefined && prev.lease !== NO_LEASE && prev.lease !== put?.lease) this.leases.detach(prev.lease, key);
    if (put === undefined) {
      this.space.stage(key, null);
      const kv: KeyValue = Object.freeze({ key, value: '', createRevision: 0, modRevision: revision, version: 0, lease: NO_LEASE });
      return Object.freeze({ type: 'delete', kv, prevKv: prev });
    }
    const kv: KeyValue = Object.freeze({
      key,
      value: put.value,
      createRevision: prev === undefined ? revision : prev.createRevision,
      modRevision: revision,
      version: prev === undefined ? 1 : prev.version + 1,
      lease: put.lease,
    });
    if (put.lease !== NO_LEASE) this.leases.attach(put.lease, key);
    this.space.stage(key, kv);
    return Object.freeze(prev === undefined ? { type: 'put', kv } : { type: 'put', kv, prevKv: prev });
  }

  private stageBatch(revision: number, events: WatchEvent[]): void {
    this.pendingBatches.push(Object.freeze({ revision, events: Object.freeze(events) as WatchEvent[] }));
  }

  /** Removes a lease and deletes its keys in one revision (none if it had no keys). */
  private revokeNow(id: LeaseId): void {
    const keys = this.leases.keysOf(id);
    if (keys === undefined) return;
    const changes = [...keys].sort().map((key): Change => ({ key, prev: this.values.current(key) }));
    this.leases.remove(id);
    this.metaDirty = true;
    if (changes.length === 0) return;
    const revision = ++this.revision;
    this.stageBatch(
      revision,
      changes.map((c) => this.apply(c, revision)),
    );
  }

  private expire(id: LeaseId): void {
    this.revoke(id).then(
      () => this.tally.leaseExpiries++,
      (err: unknown) => {
        if (err instanceof BeaconError && err.code === 'BEACON_ERR_STORE_CLOSED') return;
        // The failed commit put the lease back; it stays expired for clients and is tried again.
        this.leases.retryExpiry(id, this.writeHealth.retryDelay());
        this.logger.warn({ err, lease: id }, 'expiring a store lease failed; trying again');
      },
    );
  }

  /** The group commit: writes everything staged since the last one in one fsynced transaction. */
  private commit(): void {
    this.immediate = undefined;
    if (this.waiters.length === 0 && !this.metaDirty) return;
    const waiters = this.waiters;
    const batches = this.pendingBatches;
    this.waiters = [];
    this.pendingBatches = [];
    const started = performance.now();
    if (this.space.staged.size > 0 || this.leases.staged.size > 0 || this.metaDirty) {
      try {
        this.file.commit(this.space.staged, this.leases.staged, { revision: this.revision, compacted: this.hub.compacted, nextLeaseId: this.leases.nextId });
      } catch (err) {
        this.commitFailed(err, waiters);
        return;
      }
      this.writesSinceCheckpoint = true;
      this.metaDirty = false;
      this.space.promote();
      this.leases.settle();
      this.writeHealth.succeeded();
      this.tally.commits++;
      this.tally.revisions += batches.length;
      this.tally.commitSeconds += (performance.now() - started) / 1000;
      if (batches.length > this.tally.commitBatchMax) this.tally.commitBatchMax = batches.length;
    }
    this.committedRevision = this.revision;
    this.hub.publish(batches);
    for (const w of waiters) w.resolve(w.value);
  }

  /**
   * A failed commit changed nothing on disk (SQLite rolled its transaction back), so memory goes
   * back to the committed state too: staged keys are dropped, lease changes undone, the revision
   * counter reset, and the watch batches never published. Every write of the commit is refused
   * with BEACON_ERR_STORE_UNAVAILABLE (retryable); the store turns unwritable and probes.
   */
  private commitFailed(err: unknown, waiters: Waiter[]): void {
    this.space.discard();
    this.leases.rollback();
    this.revision = this.committedRevision;
    // Compaction and the lease id counter are not undone; the next commit (or probe) writes them.
    this.metaDirty = true;
    const error = new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', this.writeHealth.failed(err), { cause: err });
    for (const w of waiters) w.reject(error);
  }

  /**
   * The background retry while unwritable: a checkpoint (which may give back space the log
   * holds), then a commit of the meta row alone. A write arriving meanwhile tries for itself.
   */
  private probe(): void {
    if (this.closing !== undefined || this.immediate !== undefined) return;
    try {
      this.file.checkpoint(true);
    } catch {
      // It may need the very space that is missing; the commit below decides.
    }
    try {
      this.file.commit(NO_KVS, NO_LEASES, { revision: this.committedRevision, compacted: this.hub.compacted, nextLeaseId: this.leases.nextId });
    } catch (err) {
      this.writeHealth.failed(err);
      return;
    }
    this.metaDirty = false;
    this.writeHealth.succeeded();
  }

  private scheduleCheckpoint(): void {
    const delay = CHECKPOINT_INTERVAL_MS * (0.9 + Math.random() * 0.2);
    this.checkpointTimer = setTimeout(() => {
      if (this.writesSinceCheckpoint && this.writeHealth.writable && this.closing === undefined) {
        this.writesSinceCheckpoint = false;
        try {
          this.file.checkpoint(true);
        } catch (err) {
          this.logger.warn({ err, path: this.file.path }, 'store checkpoint failed; will retry');
        }
      }
      this.scheduleCheckpoint();
    }, delay);
    this.checkpointTimer.unref();
  }
}
