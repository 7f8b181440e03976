/**
 * Prepared queries (Consul's /v1/query): named, stored search definitions that every server of
 * a datacenter sees. They live in the store next to the catalog:
 *   beacon/queries/<id>          the definition (JSON)
 *   beacon/query-names/<name>    the ID holding a name (so two queries never share one)
 * Writes are transactions comparing what they read; reads come from memory, kept by a watch.
 */
import { randomUUID } from 'node:crypto';
import { BeaconError } from '../errors/index.js';
import type { Compare, KeyValue, Store, TxnOp } from '../store/index.js';
import { PrefixFollow } from './prefix-follow.js';

export const QUERY_PREFIX = 'beacon/queries/';
const NAME_PREFIX = 'beacon/query-names/';
const queryKey = (id: string) => QUERY_PREFIX + id;
const nameKey = (name: string) => NAME_PREFIX + encodeURIComponent(name);

/** A prepared query's definition as stored (the fields Beacon acts on, in Consul's names). */
export interface PreparedQueryDefinition {
  Name: string;
  Session: string;
  Token: string;
  Service: {
    Service: string;
    Failover: { NearestN: number; Datacenters: string[] };
    OnlyPassing: boolean;
    IgnoreCheckIDs: string[];
    Near: string;
    Tags: string[];
    NodeMeta: Record<string, string>;
    ServiceMeta: Record<string, string>;
  };
  DNS: { TTL: string };
}

export interface PreparedQuery extends PreparedQueryDefinition {
  ID: string;
  CreateIndex: number;
  ModifyIndex: number;
}

function parse(kv: KeyValue): PreparedQuery | undefined {
  try {
    const def = JSON.parse(kv.value) as PreparedQueryDefinition & { ID: string };
    if (typeof def?.ID !== 'string' || typeof def.Service?.Service !== 'string') return undefined;
    return { ...def, CreateIndex: kv.createRevision, ModifyIndex: kv.modRevision };
  } catch {
    return undefined;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isQueryId = (s: string): boolean => UUID.test(s);

/**
 * The datacenter's prepared queries: created, replaced and deleted through the store, read from
 * memory. A write resolves once this server's view holds it, so a read right after sees it.
 *
 * @example
 * const queries = new PreparedQueries(store);
 * await queries.start();
 * const id = await queries.create(def);
 * queries.resolve('web-failover'); // by ID or by name
 */
export class PreparedQueries {
  private readonly byId = new Map<string, PreparedQuery>();
  private readonly follow: PrefixFollow;
  /** Store revision this view is at. */
  revision = 0;
  private readonly waiting: { rev: number; resolve: () => void }[] = [];

  constructor(private readonly store: Store) {
    this.follow = new PrefixFollow(store, QUERY_PREFIX, {
      listed: (kvs, revision) => {
        this.byId.clear();
        for (const kv of kvs) {
          const q = parse(kv);
          if (q) this.byId.set(q.ID, q);
        }
        this.advance(revision);
      },
      batch: (b) => {
        for (const ev of b.events) {
          const id = ev.kv.key.slice(QUERY_PREFIX.length);
          if (ev.type === 'delete') this.byId.delete(id);
          else {
            const q = parse(ev.kv);
            if (q) this.byId.set(q.ID, q);
          }
        }
        this.advance(b.revision);
      },
    });
  }

  start(): Promise<void> {
    return this.follow.start();
  }

  stop(): void {
    this.follow.cancel();
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  private advance(rev: number): void {
    if (rev > this.revision) this.revision = rev;
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i].rev <= this.revision) this.waiting.splice(i, 1)[0].resolve();
    }
  }

  /** Resolves once the view reached `rev` (or after `ms`, whichever comes first). */
  private caughtUp(rev: number, ms = 5000): Promise<void> {
    if (rev <= this.revision) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { rev, resolve };
      this.waiting.push(w);
      setTimeout(() => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve();
      }, ms).unref();
    });
  }

  /** Every query, by name then ID. */
  list(): PreparedQuery[] {
    return [...this.byId.values()].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : a.ID < b.ID ? -1 : 1));
  }

  get(id: string): PreparedQuery | undefined {
    return this.byId.get(id);
  }

  /** By ID, else by exact name. */
  resolve(idOrName: string): PreparedQuery | undefined {
    const byId = this.byId.get(idOrName);
    if (byId) return byId;
    if (idOrName === '') return undefined;
    for (const q of this.byId.values()) if (q.Name === idOrName) return q;
    return undefined;
  }

  private nameTaken(name: string): BeaconError {
    return new BeaconError('BEACON_ERR_CONFLICT', `Invalid Name: a prepared query with name "${name}" already exists`, { field: 'Name' });
  }

  async create(def: PreparedQueryDefinition): Promise<string> {
    const id = randomUUID();
    const compares: Compare[] = [{ key: queryKey(id), target: 'version', op: '==', value: 0 }];
    const ops: TxnOp[] = [{ type: 'put', key: queryKey(id), value: JSON.stringify({ ID: id, ...def }) }];
    if (def.Name !== '') {
      compares.push({ key: nameKey(def.Name), target: 'version', op: '==', value: 0 });
      ops.push({ type: 'put', key: nameKey(def.Name), value: id });
    }
    const r = await this.store.txn(compares, ops);
    if (!r.succeeded) throw this.nameTaken(def.Name);
    await this.caughtUp(r.revision);
    return id;
  }

  async update(id: string, def: PreparedQueryDefinition): Promise<void> {
    const old = await this.store.get(queryKey(id));
    const prev = old ? parse(old) : undefined;
    if (!old || !prev) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'Query not found', { field: 'id' });
    const compares: Compare[] = [{ key: queryKey(id), target: 'modRevision', op: '==', value: old.modRevision }];
    const ops: TxnOp[] = [{ type: 'put', key: queryKey(id), value: JSON.stringify({ ID: id, ...def }) }];
    if (prev.Name !== def.Name) {
      if (prev.Name !== '') ops.push({ type: 'delete', key: nameKey(prev.Name) });
      if (def.Name !== '') {
        compares.push({ key: nameKey(def.Name), target: 'version', op: '==', value: 0 });
        ops.push({ type: 'put', key: nameKey(def.Name), value: id });
      }
    }
    const r = await this.store.txn(compares, ops);
    if (!r.succeeded) {
      const now = await this.store.get(queryKey(id));
      if (!now) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'Query not found', { field: 'id' });
      if (now.modRevision !== old.modRevision) throw new BeaconError('BEACON_ERR_CONFLICT', 'the prepared query changed meanwhile; try again');
      throw this.nameTaken(def.Name);
    }
    await this.caughtUp(r.revision);
  }

  async delete(id: string): Promise<void> {
    const old = await this.store.get(queryKey(id));
    const prev = old ? parse(old) : undefined;
    if (!old || !prev) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'Query not found', { field: 'id' });
    const ops: TxnOp[] = [{ type: 'delete', key: queryKey(id) }];
    if (prev.Name !== '') ops.push({ type: 'delete', key: nameKey(prev.Name) });
    const r = await this.store.txn([{ key: queryKey(id), target: 'modRevision', op: '==', value: old.modRevision }], ops);
    if (!r.succeeded) throw new BeaconError('BEACON_ERR_CONFLICT', 'the prepared query changed meanwhile; try again');
    await this.caughtUp(r.revision);
  }
}
