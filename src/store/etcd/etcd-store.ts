/**
 * The etcd store driver: the store contract over a real etcd cluster (v3 API, etcd 3.4 and
 * later) through the etcd3 client. etcd's Raft makes the writes durable on a quorum and lets
 * several Beacon servers share one consistent store. See src/store/README.md, "The etcd driver".
 */
import type { CallOptions } from '@grpc/grpc-js';
import { AlarmAction, AlarmType, type Etcd3, type IRangeRequest, type IRangeResponse, type ITxnResponse } from 'etcd3';
import { BeaconError } from '../../errors/index.js';
import type { StoreCounters } from '../counters.js';
import { checkKey, checkPrefix, checkRevision, checkTtl, checkTxn, checkValue } from '../embedded/txn-check.js';
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
  type WatchHandle,
  type WatchOptions,
} from '../types.js';
import { bytes, decodeKv, inStringOrder, num, prefixRange } from './codec.js';
import { CompactedRevision } from './compacted-revision.js';
import { EtcdCalls, type CallKind } from './etcd-calls.js';
import { createEtcdClient, type EtcdTls } from './etcd-client.js';
import { EtcdHealth } from './etcd-health.js';
import { EtcdWatch } from './etcd-watch.js';
import { keepAliveOnce } from './lease-keep-alive.js';
import { planTxn } from './txn-request.js';

export interface EtcdStoreOptions {
  /** The members' client endpoints, `host:port` (see `parseEtcdUrl`). */
  endpoints: readonly string[];
  logger?: StoreLogger;
  /**
   * Longest a store call may take, retries included, before it fails with
   * BEACON_ERR_STORE_UNAVAILABLE (default 5000 ms, at least 500).
   */
  requestTimeoutMs?: number;
  /** How often etcd is asked whether it answers while it does (default 1000 ms ±20 %, at least 100). */
  probeIntervalMs?: number;
  /** Speak TLS to the members (`etcd+https://`): CA, and a client certificate and key for members that require one. */
  tls?: EtcdTls;
}

export const DEFAULT_ETCD_REQUEST_TIMEOUT_MS = 5000;
export const MIN_ETCD_REQUEST_TIMEOUT_MS = 500;
const DEFAULT_PROBE_INTERVAL_MS = 1000;
/** Keys per range request: a large range is read in pages, all at the revision of the first. */
const RANGE_PAGE = 5000;
/** The one-byte key used for reads that only want a revision. */
const ZERO_KEY = Buffer.from([0]);
/** How often the probe also asks a member for the database size. */
const STATUS_EVERY_MS = 30_000;

const READ: CallKind = { idempotent: true };
const WRITE_ONCE: CallKind = { idempotent: false, write: true, proofOfWrite: true };
const DELETE_ONCE: CallKind = { idempotent: false, write: true };
const LEASE_WRITE: CallKind = { idempotent: true, write: true, proofOfWrite: true };
const LEASE_CALL: CallKind = { idempotent: true, write: true };

function leaseIdProblem(lease: string): boolean {
  return !/^\d{1,19}$/.test(lease);
}

/**
 * A {@link Store} on an etcd cluster. Writes resolve once a quorum committed them; reads are
 * linearizable. Besides the contract it reports its health (`health()`, `onHealthChange`),
 * when etcd last answered (`lastContact()`), counters for metrics, and counts keys without
 * reading values (`countKeys`).
 *
 * @example
 * const store = await EtcdStore.open({ endpoints: ['127.0.0.1:2379', '127.0.0.1:22379', '127.0.0.1:32379'] });
 * const { revision } = await store.put('services/web-1', '{"Port":80}');
 * store.lastContact(); // ms since the epoch of etcd's last answer
 * await store.close();
 */
export class EtcdStore implements Store {
  readonly driver = 'etcd' as const;
  readonly endpoints: readonly string[];
  private readonly client: Etcd3;
  private readonly logger: StoreLogger;
  private readonly calls: EtcdCalls;
  private readonly healthTracker: EtcdHealth;
  private readonly compacted: CompactedRevision;
  private readonly watches = new Set<EtcdWatch>();
  private readonly timeoutMs: number;
  private closing: Promise<void> | undefined;
  private statusAt = 0;
  private readonly tally = { writes: 0, revisions: 0, writeSeconds: 0, failures: 0, dbSize: 0 };

  private constructor(opts: EtcdStoreOptions) {
    if (opts.endpoints === undefined || opts.endpoints.length === 0) {
      throw new BeaconError('BEACON_ERR_CONFIG', 'the etcd store needs at least one endpoint (host:port)', { field: 'store' });
    }
    this.endpoints = Object.freeze(Array.from(opts.endpoints));
    this.logger = opts.logger ?? silentLogger;
    this.timeoutMs = Math.max(MIN_ETCD_REQUEST_TIMEOUT_MS, Math.floor(opts.requestTimeoutMs ?? DEFAULT_ETCD_REQUEST_TIMEOUT_MS));
    const probeMs = Math.max(100, Math.floor(opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS));
    this.client = createEtcdClient(this.endpoints, opts.tls);
    this.healthTracker = new EtcdHealth(`etcd at ${this.endpoints.join(', ')}`, this.logger, (noSpace) => this.probe(noSpace), probeMs);
    this.calls = new EtcdCalls(this.endpoints, this.timeoutMs, this.healthTracker, () => (this.closing === undefined ? undefined : closedError()));
    this.compacted = new CompactedRevision((rev) => this.readableAt(rev));
  }

  /**
   * Connects to etcd and checks that a quorum answers. Fails with BEACON_ERR_STORE_UNAVAILABLE
   * (naming the endpoints) when none does within the request timeout.
   */
  static async open(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const store = new EtcdStore(opts);
    try {
      const revision = await store.currentRevision();
      store.logger.info({ endpoints: store.endpoints, revision }, 'etcd store opened');
    } catch (err) {
      await store.close();
      throw err instanceof BeaconError && err.code === 'BEACON_ERR_STORE_UNAVAILABLE'
        ? new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', `cannot open the etcd store: ${err.message}`, { cause: err })
        : err;
    }
    store.healthTracker.start();
    return store;
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.guard(async () => {
      checkKey(key);
      const res = await this.call(`get ${JSON.stringify(key)}`, READ, (o) => this.client.kv.range({ key: bytes(key) }, o));
      return res.kvs.length === 0 ? undefined : decodeKv(res.kvs[0]);
    });
  }

  range(prefix: string): Promise<RangeResult> {
    return this.guard(async () => {
      checkPrefix(prefix);
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.rangePages(prefix);
        } catch (err) {
          // Compacted past the first page's revision while paging: read it all again.
          if (!(err instanceof BeaconError && err.code === 'BEACON_ERR_COMPACTED') || attempt >= 2) throw err;
        }
      }
    });
  }

  put(key: string, value: string, opts?: PutOptions): Promise<{ revision: number }> {
    return this.guard(async () => {
      checkKey(key);
      checkValue(value);
      const lease = this.leaseFor(opts?.lease);
      const started = performance.now();
      const res = await this.call(`put ${JSON.stringify(key)}`, WRITE_ONCE, (o) => this.client.kv.put({ key: bytes(key), value: bytes(value), lease }, o));
      this.wrote(started, true);
      return { revision: num(res.header.revision) };
    });
  }

  delete(key: string): Promise<{ revision: number; deleted: number }> {
    return this.guard(async () => {
      checkKey(key);
      const started = performance.now();
      const res = await this.call(`delete ${JSON.stringify(key)}`, DELETE_ONCE, (o) => this.client.kv.deleteRange({ key: bytes(key) }, o));
      const deleted = num(res.deleted);
      this.wrote(started, deleted > 0);
      return { revision: num(res.header.revision), deleted };
    });
  }

  deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }> {
    return this.guard(async () => {
      checkPrefix(prefix);
      const started = performance.now();
      const res = await this.call(`delete prefix ${JSON.stringify(prefix)}`, DELETE_ONCE, (o) => this.client.kv.deleteRange(prefixRange(prefix), o));
      const deleted = num(res.deleted);
      this.wrote(started, deleted > 0);
      return { revision: num(res.header.revision), deleted };
    });
  }

  txn(compares: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    return this.guard(async () => {
      checkTxn(compares, success, failure);
      for (const op of [...success, ...failure]) if (op.type === 'put') this.leaseFor(op.lease);
      const plan = planTxn(compares, success, failure);
      const writes = success.length + failure.length > 0;
      const started = performance.now();
      const res = await this.call('txn', writes ? WRITE_ONCE : READ, (o) => this.client.kv.txn(plan.request, o));
      if (writes) this.wrote(started, txnChanged(res));
      return { succeeded: plan.succeeded(res), revision: num(res.header.revision) };
    });
  }

  currentRevision(): Promise<number> {
    return this.guard(async () => num((await this.call('read the current revision', READ, (o) => this.client.kv.range(revisionOnly(), o))).header.revision));
  }

  grant(ttlSeconds: number): Promise<LeaseId> {
    return this.guard(async () => {
      checkTtl(ttlSeconds);
      const res = await this.call(`grant a lease of ${ttlSeconds}s`, LEASE_WRITE, (o) => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }, o));
      if (res.error) throw new BeaconError('BEACON_ERR_INTERNAL', `grant a lease: etcd answered ${res.error}`);
      return String(res.ID);
    });
  }

  keepAlive(lease: LeaseId): Promise<number> {
    return this.guard(async () => {
      if (typeof lease !== 'string' || leaseIdProblem(lease)) throw leaseNotFound(lease);
      return this.call(`keep lease ${lease} alive`, LEASE_CALL, (o) => keepAliveOnce(this.client.leaseClient, lease, o));
    });
  }

  revoke(lease: LeaseId): Promise<void> {
    return this.guard(async () => {
      if (typeof lease !== 'string' || leaseIdProblem(lease) || lease === NO_LEASE) return;
      try {
        await this.call(`revoke lease ${lease}`, LEASE_CALL, (o) => this.client.leaseClient.leaseRevoke({ ID: lease }, o));
      } catch (err) {
        if (!(err instanceof BeaconError && err.code === 'BEACON_ERR_LEASE_NOT_FOUND')) throw err;
      }
    });
  }

  watch(opts: WatchOptions): WatchHandle {
    let problem: Error | undefined;
    try {
      if (this.closing !== undefined) throw closedError();
      checkPrefix(opts.prefix, 'prefix');
      checkRevision(opts.fromRevision, 'fromRevision');
    } catch (err) {
      problem = err as Error;
    }
    if (problem !== undefined) {
      let cancelled = false;
      const err = problem;
      queueMicrotask(() => {
        if (!cancelled) opts.onError(err);
      });
      return { cancel: () => (cancelled = true) };
    }
    const w = new EtcdWatch(
      {
        open: () => this.client.watchClient.watch(),
        currentRevision: () => this.currentRevision(),
        logger: this.logger,
        timeoutMs: this.timeoutMs,
        ended: (ended) => this.watches.delete(ended),
      },
      opts,
    );
    this.watches.add(w);
    w.start();
    return w;
  }

  compact(revision: number): Promise<void> {
    return this.guard(async () => {
      checkRevision(revision, 'revision');
      if (revision === 0) return;
      try {
        await this.call(`compact to revision ${revision}`, LEASE_CALL, (o) => this.client.kv.compact({ revision, physical: false }, o));
      } catch (err) {
        // Compacted that far already: nothing to do.
        if (!(err instanceof BeaconError && err.code === 'BEACON_ERR_COMPACTED')) throw err;
      }
      this.compacted.note(revision);
    });
  }

  stats(): Promise<StoreStats> {
    return this.guard(async () => {
      const [keys, leases] = await Promise.all([
        this.call('count keys', READ, (o) => this.client.kv.range({ ...prefixRange(''), count_only: true }, o)),
        this.call('list leases', READ, (o) => this.client.leaseClient.leaseLeases(o)),
      ]);
      const revision = num(keys.header.revision);
      return {
        driver: this.driver,
        revision,
        compactedRevision: await this.compacted.find(revision),
        keys: num(keys.count),
        leases: leases.leases.length,
      };
    });
  }

  /** Keys starting with `prefix`, counted by etcd (no value is read). */
  countKeys(prefix: string): Promise<number> {
    return this.guard(async () => {
      checkPrefix(prefix);
      return num(
        (await this.call(`count keys under ${JSON.stringify(prefix)}`, READ, (o) => this.client.kv.range({ ...prefixRange(prefix), count_only: true }, o)))
          .count,
      );
    });
  }

  /** Whether etcd takes writes: false while it cannot be reached, has no leader, or is out of space. */
  health(): StoreHealth {
    return this.healthTracker.current;
  }

  /** Calls `listener` on every change of `writable`; returns the function that stops it. */
  onHealthChange(listener: (health: StoreHealth) => void): () => void {
    return this.healthTracker.onChange(listener);
  }

  /** When etcd last answered a call or the background probe (ms since the epoch); it stops moving while etcd is away. */
  lastContact(): number {
    return this.healthTracker.lastContact;
  }

  /** Counters for metrics (see {@link StoreCounters}); a commit here is one acknowledged write. */
  counters(): StoreCounters {
    const writable = this.healthTracker.current.writable ? 1 : 0;
    return {
      commits: this.tally.writes,
      revisions: this.tally.revisions,
      commitSeconds: this.tally.writeSeconds,
      commitBatchMax: this.tally.writes > 0 ? 1 : 0,
      leaseExpiries: 0,
      watchers: this.watches.size,
      historyRevisions: 0,
      diskBytes: this.tally.dbSize,
      writable,
      commitFailures: this.tally.failures,
    };
  }

  /** Ends every watch (BEACON_ERR_STORE_CLOSED), stops the probe and closes the connections. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.healthTracker.stop();
    const err = closedError();
    for (const w of [...this.watches]) w.fail(err);
    this.client.close();
    await Promise.resolve();
  }

  /** Runs a store method: closed stores reject, and a synchronous throw becomes a rejection. */
  private guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing !== undefined) return Promise.reject(closedError());
    try {
      return fn();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async call<T>(what: string, kind: CallKind, fn: (o: CallOptions) => Promise<T>): Promise<T> {
    try {
      return await this.calls.run(what, kind, fn);
    } catch (err) {
      if (kind.write === true && err instanceof BeaconError && err.code === 'BEACON_ERR_STORE_UNAVAILABLE') this.tally.failures++;
      throw err;
    }
  }

  private wrote(started: number, changed: boolean): void {
    this.tally.writes++;
    if (changed) this.tally.revisions++;
    this.tally.writeSeconds += (performance.now() - started) / 1000;
  }

  private leaseFor(lease: LeaseId | undefined): string {
    if (lease === undefined || lease === NO_LEASE) return NO_LEASE;
    if (typeof lease !== 'string' || leaseIdProblem(lease)) throw leaseNotFound(String(lease));
    return lease;
  }

  private async rangePages(prefix: string): Promise<RangeResult> {
    const { key, range_end } = prefixRange(prefix);
    const kvs: KeyValue[] = [];
    let revision = 0;
    let from = key;
    for (;;) {
      const req: IRangeRequest = { key: from, range_end, limit: RANGE_PAGE };
      if (revision > 0) req.revision = revision;
      const res: IRangeResponse = await this.call(`range ${JSON.stringify(prefix)}`, READ, (o) => this.client.kv.range(req, o));
      if (revision === 0) revision = num(res.header.revision);
      for (const kv of res.kvs) kvs.push(decodeKv(kv));
      if (!res.more || res.kvs.length === 0) break;
      from = Buffer.concat([res.kvs[res.kvs.length - 1].key, ZERO_KEY]);
    }
    return { kvs: inStringOrder(kvs), revision };
  }

  /** Whether a read at `revision` works (false: etcd compacted it away). */
  private async readableAt(revision: number): Promise<boolean> {
    try {
      await this.call(`read at revision ${revision}`, READ, (o) => this.client.kv.range({ ...revisionOnly(), revision }, o));
      return true;
    } catch (err) {
      if (err instanceof BeaconError && err.code === 'BEACON_ERR_COMPACTED') return false;
      throw err;
    }
  }

  /** The background probe: a quorum read; while out of space, whether the NOSPACE alarm is still raised. */
  private async probe(noSpace: boolean): Promise<void> {
    if (this.closing !== undefined) return;
    if (Date.now() - this.statusAt >= STATUS_EVERY_MS) {
      this.statusAt = Date.now();
      // The database size, for the disk gauge (one member's answer; no quorum needed).
      void this.client.maintenance.status({ deadline: Date.now() + this.timeoutMs }).then(
        (s) => (this.tally.dbSize = num(s.dbSize)),
        () => undefined,
      );
    }
    if (!noSpace) {
      await this.currentRevision();
      return;
    }
    const res = await this.call('list alarms', READ, (o) => this.client.maintenance.alarm({ action: AlarmAction.Get, memberID: 0, alarm: AlarmType.None }, o));
    const raised = (res.alarms ?? []).some((a) => String(a.alarm).toUpperCase() === 'NOSPACE' || String(a.alarm) === String(AlarmType.Nospace));
    if (raised) this.healthTracker.failed({ kind: 'noSpace', safe: false, detail: 'NOSPACE alarm raised' });
    else this.healthTracker.contact(true);
  }
}

/** Whether a txn's answer shows a change: a put, or a delete that deleted something (nested txns included). */
function txnChanged(res: ITxnResponse): boolean {
  return (res.responses ?? []).some(
    (r) =>
      (r.response_put !== null && r.response_put !== undefined) ||
      num(r.response_delete_range?.deleted) > 0 ||
      (r.response_txn !== null && r.response_txn !== undefined && txnChanged(r.response_txn)),
  );
}

function revisionOnly(): IRangeRequest {
  return { key: ZERO_KEY, count_only: true };
}

function closedError(): BeaconError {
  return new BeaconError('BEACON_ERR_STORE_CLOSED', 'the store is closed');
}

function leaseNotFound(lease: string): BeaconError {
  return new BeaconError('BEACON_ERR_LEASE_NOT_FOUND', `lease ${lease} not found (it expired or was revoked)`);
}
