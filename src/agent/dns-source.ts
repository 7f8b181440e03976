import {
  aggregateStatus,
  type CheckRecord,
  type Indexed,
  type InstanceQuery,
  type InstanceView,
  type NodeRecord,
  type NodeView,
  type ServiceRecord,
  type Topic,
  type Versioned,
} from '../catalog/index.js';
import type { DnsCatalog, NameQuery } from '../dns/index.js';
import { BeaconError } from '../errors/index.js';
import type { CacheEntry, WatchCache } from './watch-cache.js';

const SERVICES = '/v1/catalog/services';
const NODES = '/v1/catalog/nodes';
const HEALTH = '/v1/health/service/';
const healthKey = (name: string): string => HEALTH + encodeURIComponent(name);

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const idx = <T>(record: T, j: Json): Indexed<T> => ({ record, createIndex: Number(j.CreateIndex) || 0, modifyIndex: Number(j.ModifyIndex) || 0 });

function nodeOf(j: Json): Indexed<NodeRecord> {
  return idx(
    {
      ID: str(j.ID),
      Node: str(j.Node),
      Address: str(j.Address),
      Datacenter: str(j.Datacenter),
      TaggedAddresses: (j.TaggedAddresses ?? {}) as Record<string, string>,
      Meta: (j.Meta ?? {}) as Record<string, string>,
    },
    j,
  );
}

function serviceOf(j: Json): Indexed<ServiceRecord> {
  return idx(
    {
      ID: str(j.ID),
      Service: str(j.Service),
      Tags: (j.Tags ?? []) as string[],
      Address: str(j.Address),
      TaggedAddresses: (j.TaggedAddresses ?? {}) as ServiceRecord['TaggedAddresses'],
      Meta: (j.Meta ?? {}) as Record<string, string>,
      Port: Number(j.Port) || 0,
      Weights: (j.Weights ?? { Passing: 1, Warning: 1 }) as ServiceRecord['Weights'],
      EnableTagOverride: j.EnableTagOverride === true,
      Kind: str(j.Kind),
    },
    j,
  );
}

/**
 * The catalog as the agent's DNS sees it: built from the watch cache's answers to
 * `/v1/catalog/services`, `/v1/catalog/nodes` and `/v1/health/service/<name>`, decoded once per
 * index. DNS answers are built by the same code as on a server (src/dns), and invalidated by the
 * same topics when a watched answer moves. A question whose read is not cached yet waits for its
 * first answer (`prepare`); a read that has none (no server reachable) fails, and DNS answers
 * SERVFAIL rather than a wrong "no such name".
 */
export class AgentDnsCatalog implements DnsCatalog {
  revision = 1;
  private readonly listeners = new Set<(topics: ReadonlySet<Topic>, revision: number) => void>();
  private readonly decoded = new WeakMap<CacheEntry, { index: number; value: unknown }>();

  constructor(
    private readonly cache: WatchCache,
    private readonly waitMs = 2000,
  ) {
    cache.onChange((e, before) => this.changed(e, before));
  }

  private changed(e: CacheEntry, before: Buffer | undefined): void {
    const topics = new Set<Topic>();
    if (e.key === SERVICES) topics.add('table:services');
    else if (e.key === NODES) {
      topics.add('table:nodes');
      for (const list of [before, e.body] as Array<Buffer | undefined>) {
        if (!list) continue;
        try {
          for (const n of JSON.parse(list.toString()) as Json[]) topics.add(`node:${str(n.Node)}`);
        } catch {
          /* not a list */
        }
      }
    } else if (e.key.startsWith(HEALTH) && !e.key.includes('?')) topics.add(`svc:${decodeURIComponent(e.key.slice(HEALTH.length))}`);
    else return;
    this.revision++;
    for (const l of [...this.listeners]) l(topics, this.revision);
  }

  private json<T>(key: string): T {
    const e = this.cache.entry(key);
    if (!e || e.body === undefined || e.status !== 200) throw new BeaconError('BEACON_ERR_NO_SERVER', `no answer for ${key} from the servers yet`);
    const d = this.decoded.get(e);
    if (d && d.index === e.index) return d.value as T;
    const value = JSON.parse(e.body.toString()) as T;
    this.decoded.set(e, { index: e.index, value });
    return value;
  }

  /** Makes sure the reads a question needs are watched, and waits for the first answers of new ones. */
  prepare(q: NameQuery): Promise<void> | undefined {
    const keys: string[] = [];
    if (q.kind === 'service') keys.push(SERVICES);
    else if (q.kind === 'node' || q.kind === 'ptr' || q.kind === 'apex') keys.push(NODES);
    if (q.kind === 'ptr') keys.push(SERVICES);
    const first = this.waitAll(keys);
    if (q.kind !== 'service') return first;
    const then = () => {
      let name: string | undefined;
      try {
        const services = this.json<Record<string, unknown>>(SERVICES);
        name = q.service in services ? q.service : Object.keys(services).find((s) => s.toLowerCase() === q.service);
      } catch {
        return undefined;
      }
      return name === undefined ? undefined : this.waitAll([healthKey(name)]);
    };
    return first ? first.then(then) : then();
  }

  private waitAll(keys: string[]): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    for (const k of keys) {
      const e = this.cache.entry(k);
      if (e && e.body === undefined) waits.push(this.cache.waitFor(e, -1, this.waitMs));
    }
    return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined;
  }

  onChange(listener: (topics: ReadonlySet<Topic>, revision: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  hasService(name: string): boolean {
    return name in this.json<Record<string, unknown>>(SERVICES);
  }

  services(): Versioned<Map<string, string[]>> {
    const s = this.json<Record<string, string[]>>(SERVICES);
    return { value: new Map(Object.entries(s)), index: this.revision };
  }

  instances(name: string, q: InstanceQuery = {}): Versioned<InstanceView[]> {
    const list = this.json<Array<{ Node: Json; Service: Json; Checks: Json[] }>>(healthKey(name));
    const out: InstanceView[] = [];
    for (const e of list) {
      const checks = e.Checks.map((c) => idx(c as unknown as CheckRecord, c));
      const status = aggregateStatus(checks);
      if (q.healthFilter === 'not-critical' && (status === 'critical' || status === 'maintenance')) continue;
      if (q.healthFilter === 'passing' && status !== 'passing') continue;
      const service = serviceOf(e.Service);
      if (q.tags && !q.tags.every((t) => service.record.Tags.includes(t))) continue;
      out.push({ node: nodeOf(e.Node), service, checks, status });
    }
    return { value: out, index: this.revision };
  }

  nodes(): Versioned<Indexed<NodeRecord>[]> {
    return { value: this.json<Json[]>(NODES).map(nodeOf), index: this.revision };
  }

  node(name: string): Versioned<NodeView | undefined> {
    const n = this.json<Json[]>(NODES).find((x) => x.Node === name);
    return { value: n ? { node: nodeOf(n), services: [], checks: [] } : undefined, index: this.revision };
  }

  byAddress(ip: string): { nodes: Indexed<NodeRecord>[]; instances: InstanceView[] } {
    return { nodes: this.nodes().value.filter((n) => n.record.Address === ip), instances: [] };
  }
}
