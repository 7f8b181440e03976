/**
 * A namespaced view of a store: every key lives under one prefix, as etcd's `namespace`
 * client package does it. Several views (or a view and other users) can share one store
 * without seeing each other's keys. See src/store/README.md, "Namespaces".
 */
import { BeaconError, invalid } from '../errors/index.js';
import { countKeys, type StoreCounters } from './counters.js';
import { onStoreHealthChange, storeHealth, storeLastContact, type StoreHealth } from './health.js';
import type {
  Compare,
  KeyValue,
  LeaseId,
  PutOptions,
  RangeResult,
  Store,
  StoreStats,
  TxnOp,
  TxnResult,
  WatchBatch,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './types.js';

export interface NamespaceOptions {
  /**
   * Close the underlying store when the view is closed (default false: closing a view only
   * ends that view, so other views on the same store keep working).
   */
  closeStore?: boolean;
}

/**
 * What is wrong with `prefix` as a namespace, or undefined if it is usable: a non-empty
 * string ending in '/', without control characters.
 */
export function namespacePrefixProblem(prefix: unknown): string | undefined {
  if (typeof prefix !== 'string' || prefix === '') return 'must be a non-empty string';
  if (!prefix.endsWith('/')) return `must end with '/' (e.g. ${JSON.stringify(`${prefix}/`)})`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(prefix)) return 'must not contain control characters';
  return undefined;
}

/**
 * A {@link Store} whose keys all live under `prefix` of another store. Keys go in and come out
 * without the prefix (get, range, txn, watch events and their prevKv); a range, watch or
 * deletePrefix of '' covers the namespace only. Revisions, leases and compaction belong to
 * the underlying store and are shared with everyone using it.
 *
 * @example
 * const store = await openStore('embedded', { dataDir: './data' });
 * const dc1 = namespaced(store, 'dc1/');
 * await dc1.put('nodes/n1', '{}'); // the store holds 'dc1/nodes/n1'
 * (await dc1.range('')).kvs[0].key; // 'nodes/n1'
 */
export function namespaced(store: Store, prefix: string, opts: NamespaceOptions = {}): NamespacedStore {
  return new NamespacedStore(store, prefix, opts);
}

interface ViewWatch {
  fail(err: Error): void;
}

export class NamespacedStore implements Store {
  readonly driver: Store['driver'];
  /** The driver's counters (for the whole underlying store), when it keeps them. */
  readonly counters?: () => StoreCounters;
  /** When the underlying store's backend last answered, when the driver reports it (etcd). */
  readonly lastContact?: () => number;
  private readonly watches = new Set<ViewWatch>();
  private closing: Promise<void> | undefined;

  /** Throws BEACON_ERR_VALIDATION (field 'prefix') for a prefix {@link namespacePrefixProblem} refuses. */
  constructor(
    /** The store underneath. */
    readonly store: Store,
    /** The namespace: every key of this view is stored as `prefix + key`. */
    readonly prefix: string,
    private readonly opts: NamespaceOptions = {},
  ) {
    const problem = namespacePrefixProblem(prefix);
    if (problem !== undefined) throw invalid('prefix', `the namespace prefix ${problem}`);
    this.driver = store.driver;
    const inner = store as Partial<{ counters(): StoreCounters }>;
    if (typeof inner.counters === 'function') this.counters = () => inner.counters!.call(store);
    if (storeLastContact(store) !== undefined) this.lastContact = () => storeLastContact(store) ?? 0;
  }

  /** The underlying store's health (it has one writer: the store), see {@link storeHealth}. */
  health(): StoreHealth {
    return storeHealth(this.store);
  }

  /** Follows the underlying store's health, see {@link onStoreHealthChange}. */
  onHealthChange(listener: (health: StoreHealth) => void): () => void {
    return onStoreHealthChange(this.store, listener);
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.call(async () => {
      checkKey(key, 'key');
      const kv = await this.store.get(this.prefix + key);
      return kv === undefined ? undefined : this.strip(kv);
    });
  }

  range(prefix: string): Promise<RangeResult> {
    return this.call(async () => {
      checkPrefix(prefix, 'prefix');
      const r = await this.store.range(this.prefix + prefix);
      return { kvs: this.stripAll(r.kvs), revision: r.revision };
    });
  }

  put(key: string, value: string, opts?: PutOptions): Promise<{ revision: number }> {
    return this.call(() => {
      checkKey(key, 'key');
      return this.store.put(this.prefix + key, value, opts);
    });
  }

  delete(key: string): Promise<{ revision: number; deleted: number }> {
    return this.call(() => {
      checkKey(key, 'key');
      return this.store.delete(this.prefix + key);
    });
  }

  deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }> {
    return this.call(() => {
      checkPrefix(prefix, 'prefix');
      return this.store.deletePrefix(this.prefix + prefix);
    });
  }

  txn(compares: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    return this.call(() => {
      if (!Array.isArray(compares) || !Array.isArray(success) || !Array.isArray(failure)) {
        throw invalid('txn', 'compares, success and failure must be arrays');
      }
      const cs = compares.map((c, i): Compare => {
        checkKey(c.key, `compares[${i}].key`);
        return { ...c, key: this.prefix + c.key };
      });
      return this.store.txn(cs, this.ops(success, 'success'), this.ops(failure, 'failure'));
    });
  }

  currentRevision(): Promise<number> {
    return this.call(() => this.store.currentRevision());
  }

  grant(ttlSeconds: number): Promise<LeaseId> {
    return this.call(() => this.store.grant(ttlSeconds));
  }

  keepAlive(lease: LeaseId): Promise<number> {
    return this.call(() => this.store.keepAlive(lease));
  }

  /** Revokes a lease of the underlying store: every key attached to it goes, in or out of this namespace. */
  revoke(lease: LeaseId): Promise<void> {
    return this.call(() => this.store.revoke(lease));
  }

  watch(opts: WatchOptions): WatchHandle {
    const problem = this.closing !== undefined ? closedError() : typeof opts.prefix !== 'string' ? invalid('prefix', 'prefix must be a string') : undefined;
    if (problem !== undefined) {
      // As a driver does: the error arrives after watch() returns, and not after cancel().
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) opts.onError(problem);
      });
      return { cancel: () => (cancelled = true) };
    }
    let done = false;
    let handle: WatchHandle | undefined;
    const end = (): boolean => {
      if (done) return false;
      done = true;
      this.watches.delete(entry);
      return true;
    };
    const entry: ViewWatch = {
      fail: (err) => {
        if (!end()) return;
        handle?.cancel();
        try {
          opts.onError(err);
        } catch {
          // The watcher's own failure; the view is closing either way.
        }
      },
    };
    this.watches.add(entry);
    handle = this.store.watch({
      prefix: this.prefix + opts.prefix,
      fromRevision: opts.fromRevision,
      onBatch: (batch) => {
        if (done) return;
        const out = this.stripBatch(batch);
        if (out !== undefined) opts.onBatch(out);
      },
      onError: (err) => {
        if (end()) opts.onError(err);
      },
    });
    if (done) handle.cancel();
    return {
      cancel: () => {
        if (end()) handle.cancel();
      },
    };
  }

  /** Compacts the underlying store: history is shared, so this applies to every user of it. */
  compact(revision: number): Promise<void> {
    return this.call(() => this.store.compact(revision));
  }

  /**
   * The underlying store's stats, except `keys`: the keys in this namespace (counted without
   * reading values when the driver can, see {@link countKeys}). `leases` counts every lease of
   * the underlying store.
   */
  stats(): Promise<StoreStats> {
    return this.call(async () => {
      const [s, keys] = await Promise.all([this.store.stats(), this.count('')]);
      return { ...s, keys };
    });
  }

  /** Keys in this namespace starting with `prefix`. */
  countKeys(prefix: string): Promise<number> {
    return this.call(() => {
      checkPrefix(prefix, 'prefix');
      return this.count(prefix);
    });
  }

  /**
   * Ends this view: later calls reject BEACON_ERR_STORE_CLOSED and its watchers get it via
   * `onError`. The underlying store stays open unless the view was made with `closeStore`.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const err = new BeaconError('BEACON_ERR_STORE_CLOSED', 'the store was closed');
    for (const w of [...this.watches]) w.fail(err);
    if (this.opts.closeStore === true) await this.store.close();
  }

  /** Runs a call unless the view is closed; a synchronous throw becomes a rejection. */
  private call<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      if (this.closing !== undefined) throw closedError();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Like {@link stripAll}, the key equal to the prefix itself does not count. */
  private async count(prefix: string): Promise<number> {
    const [n, bare] = await Promise.all([countKeys(this.store, this.prefix + prefix), prefix === '' ? this.store.get(this.prefix) : undefined]);
    return bare === undefined ? n : n - 1;
  }

  private ops(ops: readonly TxnOp[], branch: string): TxnOp[] {
    return ops.map((op, i): TxnOp => {
      switch (op.type) {
        case 'put':
        case 'delete':
          checkKey(op.key, `${branch}[${i}].key`);
          return { ...op, key: this.prefix + op.key };
        case 'deletePrefix':
          checkPrefix(op.prefix, `${branch}[${i}].prefix`);
          return { ...op, prefix: this.prefix + op.prefix };
        default:
          throw invalid(`${branch}[${i}].type`, 'op type must be put, delete or deletePrefix');
      }
    });
  }

  private strip(kv: KeyValue): KeyValue {
    return { ...kv, key: kv.key.slice(this.prefix.length) };
  }

  /**
   * Keys under the namespace, prefix removed. The key that equals the prefix itself would be
   * the empty key here, which no view can write; it is left out.
   */
  private stripAll(kvs: readonly KeyValue[]): KeyValue[] {
    const n = this.prefix.length;
    const out: KeyValue[] = [];
    for (const kv of kvs) if (kv.key.length > n) out.push(this.strip(kv));
    return out;
  }

  /** A batch with its keys stripped, or undefined if none of its events is in the namespace. */
  private stripBatch(batch: WatchBatch): WatchBatch | undefined {
    const n = this.prefix.length;
    const events: WatchEvent[] = [];
    for (const e of batch.events) {
      if (e.kv.key.length <= n) continue;
      const kv = this.strip(e.kv);
      events.push(e.prevKv === undefined ? { type: e.type, kv } : { type: e.type, kv, prevKv: this.strip(e.prevKv) });
    }
    return events.length === 0 ? undefined : { revision: batch.revision, events };
  }
}

function closedError(): BeaconError {
  return new BeaconError('BEACON_ERR_STORE_CLOSED', 'the store is closed');
}

function checkKey(key: unknown, field: string): void {
  if (typeof key !== 'string' || key === '') throw invalid(field, `${field} must be a non-empty string`);
}

function checkPrefix(prefix: unknown, field: string): void {
  if (typeof prefix !== 'string') throw invalid(field, `${field} must be a string`);
}
