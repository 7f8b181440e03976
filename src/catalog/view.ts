import type { KeyValue, WatchEvent } from '../store/index.js';
import { parseKey } from './keys.js';
import type { CheckChange, CheckRecord, Indexed, NodeRecord, RecordChange, ServiceRecord, Topic, Weights } from './types.js';

/** Everything the catalog knows about one node. */
export interface NodeState {
  node: Indexed<NodeRecord> | undefined;
  services: Map<string, Indexed<ServiceRecord>>;
  /**
   * Checks by ServiceID ('' = node-level), in the order they were last written. A small array,
   * not a Map: an instance has one to a few checks, and at 100,000 instances a one-entry Map
   * per instance cost ~18 MB of heap more than an array (docs/benchmarks.md, Scale).
   */
  checksByService: Map<string, Indexed<CheckRecord>[]>;
  /** CheckID -> the ServiceID it is filed under, so a check is found without a scan. */
  checkOwner: Map<string, string>;
  checkCount: number;
}

/** Reference to one instance: node name and service ID. */
export interface InstanceRef {
  node: string;
  id: string;
}

/** The check `id` of a node, in O(1). */
export function findCheck(s: NodeState, id: string): Indexed<CheckRecord> | undefined {
  const owner = s.checkOwner.get(id);
  if (owner === undefined) return undefined;
  const list = s.checksByService.get(owner);
  if (!list) return undefined;
  for (const c of list) if (c.record.CheckID === id) return c;
  return undefined;
}

function bump<K>(m: Map<K, number>, k: K, rev: number): void {
  const cur = m.get(k);
  if (cur === undefined || rev > cur) m.set(k, rev);
}

const indexed = <T>(kv: KeyValue, record: T): Indexed<T> => ({
  record,
  createIndex: kv.createRevision,
  modifyIndex: kv.modRevision,
});

// ---- shared sub-objects ----------------------------------------------------------------------
// Records are immutable once in the view (readers build responses from them and never write to
// them), so equal sub-objects need not be held once per record: at 100,000 instances most are
// empty, default, or the same as another instance's of the service. Every shared one is frozen,
// so a write to it throws instead of changing other records. A record's JSON is unchanged.

const EMPTY_OBJECT = Object.freeze({}) as Record<string, never>;
const EMPTY_ARRAY = Object.freeze([]) as unknown as never[];
const DEFAULT_WEIGHTS: Weights = Object.freeze({ Passing: 1, Warning: 1 });

function isEmptyObject(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** `a`, or an equal array to share: [] for an empty one, else `like` if it holds the same strings in order. */
function shareArray(a: string[], like: readonly string[] | undefined): string[] {
  if (!Array.isArray(a)) return a;
  if (a.length === 0) return EMPTY_ARRAY;
  if (like === undefined || like.length !== a.length) return a;
  for (let i = 0; i < a.length; i++) if (a[i] !== like[i]) return a;
  return Object.freeze(like) as string[];
}

/** `m`, or an equal flat map to share: {} for an empty one, else `like` if it has the same entries in the same order. */
function shareMap<M extends Record<string, unknown>>(m: M, like: M | undefined): M {
  if (m === null || typeof m !== 'object') return m;
  if (isEmptyObject(m)) return EMPTY_OBJECT as M;
  if (like === undefined || like === EMPTY_OBJECT) return m;
  const keys = Object.keys(m);
  const likeKeys = Object.keys(like);
  if (keys.length !== likeKeys.length) return m;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = m[k];
    if (k !== likeKeys[i] || typeof v === 'object' || v !== like[k]) return m;
  }
  return Object.freeze(like);
}

function shareNode(r: NodeRecord): NodeRecord {
  r.TaggedAddresses = shareMap(r.TaggedAddresses, undefined);
  r.Meta = shareMap(r.Meta, undefined);
  return r;
}

/** `like`: another version or instance of the same service, whose tags and meta are often equal. */
function shareService(r: ServiceRecord, like: ServiceRecord | undefined): ServiceRecord {
  r.Tags = shareArray(r.Tags, like?.Tags);
  r.Meta = shareMap(r.Meta, like?.Meta);
  r.TaggedAddresses = shareMap(r.TaggedAddresses, undefined);
  const w = r.Weights;
  if (w && w.Passing === 1 && w.Warning === 1 && Object.keys(w).length === 2) r.Weights = DEFAULT_WEIGHTS;
  return r;
}

/** `owner`: the service the check belongs to, whose tags its ServiceTags usually copies. */
function shareCheck(r: CheckRecord, owner: ServiceRecord | undefined): CheckRecord {
  r.ServiceTags = shareArray(r.ServiceTags, owner?.Tags);
  if (r.Definition !== null && typeof r.Definition === 'object' && isEmptyObject(r.Definition)) r.Definition = EMPTY_OBJECT;
  return r;
}

/**
 * The in-memory materialized view of the catalog's store keys, with indexes by service name,
 * tag and node, and the modify index of every service name, node and table (deletes included).
 */
export class CatalogView {
  readonly nodes = new Map<string, NodeState>();
  /** Service name -> instances ("node\u0000id" -> ref). */
  readonly byName = new Map<string, Map<string, InstanceRef>>();
  /** Last revision that touched each service name (kept after deletion so deletes bump it). */
  readonly serviceIndex = new Map<string, number>();
  readonly nodeIndex = new Map<string, number>();
  readonly tableIndex = { services: 0, nodes: 0, checks: 0 };
  /** Set while a batch is applied: collects every check put or delete (for the health checkers). */
  checkChanges: CheckChange[] | undefined;
  /** Set while a batch is applied: collects every record as it was before and after (events). */
  recordChanges: RecordChange[] | undefined;
  revision = 0;
  instanceCount = 0;
  checkCount = 0;

  private bumpTable(t: keyof CatalogView['tableIndex'], rev: number): void {
    if (rev > this.tableIndex[t]) this.tableIndex[t] = rev;
  }

  clear(): void {
    this.nodes.clear();
    this.byName.clear();
    this.instanceCount = 0;
    this.checkCount = 0;
  }

  private nodeState(name: string): NodeState {
    let s = this.nodes.get(name);
    if (!s) {
      s = { node: undefined, services: new Map(), checksByService: new Map(), checkOwner: new Map(), checkCount: 0 };
      this.nodes.set(name, s);
    }
    return s;
  }

  private dropIfEmpty(name: string, s: NodeState): void {
    if (!s.node && s.services.size === 0 && s.checkCount === 0) this.nodes.delete(name);
  }

  private touchService(name: string, rev: number, topics: Set<Topic>): void {
    bump(this.serviceIndex, name, rev);
    topics.add(`svc:${name}`);
  }

  /** A change to a node or its node-level checks touches every service on that node. */
  private touchNode(name: string, rev: number, topics: Set<Topic>, withServices: boolean): void {
    bump(this.nodeIndex, name, rev);
    topics.add(`node:${name}`);
    if (!withServices) return;
    const s = this.nodes.get(name);
    if (s) for (const svc of s.services.values()) this.touchService(svc.record.Service, rev, topics);
  }

  /** Applies one store event; adds the topics it touched. */
  apply(ev: WatchEvent, topics: Set<Topic>): void {
    const parsed = parseKey(ev.kv.key);
    if (!parsed) return;
    const rev = ev.kv.modRevision;
    const s = this.nodeState(parsed.node);
    if (parsed.kind === 'node') {
      const was = s.node?.record;
      s.node = ev.type === 'put' ? indexed(ev.kv, shareNode(JSON.parse(ev.kv.value) as NodeRecord)) : undefined;
      this.bumpTable('nodes', rev);
      this.bumpTable('services', rev);
      this.touchNode(parsed.node, rev, topics, true);
      topics.add('table:nodes');
      topics.add('table:services');
      this.recordChanges?.push({ kind: 'node', node: parsed.node, id: parsed.node, before: was, after: s.node?.record });
    } else if (parsed.kind === 'service') {
      const before = s.services.get(parsed.id);
      if (before) {
        this.unindexInstance(before.record.Service, parsed.node, parsed.id);
        this.touchService(before.record.Service, rev, topics);
      }
      if (ev.type === 'put') {
        const rec = JSON.parse(ev.kv.value) as ServiceRecord;
        const svc = indexed(ev.kv, shareService(rec, before?.record.Service === rec.Service ? before.record : this.anyInstance(rec.Service)));
        s.services.set(parsed.id, svc);
        this.indexInstance(svc.record.Service, parsed.node, parsed.id);
        this.touchService(svc.record.Service, rev, topics);
      } else {
        s.services.delete(parsed.id);
      }
      this.recordChanges?.push({ kind: 'service', node: parsed.node, id: parsed.id, before: before?.record, after: s.services.get(parsed.id)?.record });
      this.bumpTable('services', rev);
      this.touchNode(parsed.node, rev, topics, false);
      topics.add('table:services');
    } else {
      this.applyCheck(s, parsed.node, parsed.id, ev, rev, topics);
    }
    if (ev.type === 'delete') this.dropIfEmpty(parsed.node, s);
  }

  private applyCheck(s: NodeState, node: string, id: string, ev: WatchEvent, rev: number, topics: Set<Topic>): void {
    const prev = findCheck(s, id)?.record;
    if (prev) {
      const list = s.checksByService.get(prev.ServiceID);
      const at = list ? list.findIndex((c) => c.record.CheckID === id) : -1;
      if (list && at >= 0) {
        list.splice(at, 1);
        s.checkCount--;
        this.checkCount--;
        s.checkOwner.delete(id);
        if (list.length === 0) s.checksByService.delete(prev.ServiceID);
      }
      this.touchCheckOwner(s, node, prev, rev, topics);
    }
    if (ev.type === 'put') {
      const rec = JSON.parse(ev.kv.value) as CheckRecord;
      const chk = indexed(ev.kv, shareCheck(rec, s.services.get(rec.ServiceID)?.record));
      const list = s.checksByService.get(chk.record.ServiceID);
      if (list) list.push(chk);
      else s.checksByService.set(chk.record.ServiceID, [chk]);
      s.checkOwner.set(id, chk.record.ServiceID);
      s.checkCount++;
      this.checkCount++;
      this.touchCheckOwner(s, node, chk.record, rev, topics);
    }
    this.bumpTable('checks', rev);
    topics.add('table:checks');
    const now = ev.type === 'put' ? findCheck(s, id) : undefined;
    this.checkChanges?.push({ node, checkId: id, check: now });
    this.recordChanges?.push({ kind: 'check', node, id, before: prev, after: now?.record });
  }

  private touchCheckOwner(s: NodeState, node: string, c: CheckRecord, rev: number, topics: Set<Topic>): void {
    if (c.ServiceID === '') {
      this.touchNode(node, rev, topics, true);
      return;
    }
    bump(this.nodeIndex, node, rev);
    topics.add(`node:${node}`);
    const svc = s.services.get(c.ServiceID);
    this.touchService(svc?.record.Service ?? c.ServiceName, rev, topics);
  }

  /** Some indexed instance of service `name`, if any. */
  private anyInstance(name: string): ServiceRecord | undefined {
    const ref = this.byName.get(name)?.values().next().value;
    return ref === undefined ? undefined : this.nodes.get(ref.node)?.services.get(ref.id)?.record;
  }

  private indexInstance(name: string, node: string, id: string): void {
    let m = this.byName.get(name);
    if (!m) this.byName.set(name, (m = new Map<string, InstanceRef>()));
    m.set(`${node}\u0000${id}`, { node, id });
    this.instanceCount++;
  }

  private unindexInstance(name: string, node: string, id: string): void {
    const m = this.byName.get(name);
    if (m?.delete(`${node}\u0000${id}`)) {
      this.instanceCount--;
      if (m.size === 0) this.byName.delete(name);
    }
  }

  /** Loads a full listing (start-up, or after a compacted watch). */
  load(kvs: readonly KeyValue[], revision: number): void {
    this.clear();
    const topics = new Set<Topic>();
    // Nodes first, then services, then checks, so every check finds its owner.
    const order = { node: 0, service: 1, check: 2 } as const;
    const sorted = kvs
      .map((kv) => ({ kv, p: parseKey(kv.key) }))
      .filter((x) => x.p !== undefined)
      .sort((a, b) => order[a.p!.kind] - order[b.p!.kind]);
    for (const { kv } of sorted) this.apply({ type: 'put', kv }, topics);
    // Deletes from before this listing are not visible: move every table index to the listing's
    // revision so a blocking client sees the reload as a change and never an index going back.
    const r = Math.max(revision, 1);
    this.tableIndex.services = this.tableIndex.nodes = this.tableIndex.checks = r;
    for (const k of this.serviceIndex.keys()) this.serviceIndex.set(k, r);
    for (const k of this.nodeIndex.keys()) this.nodeIndex.set(k, r);
    this.revision = revision;
  }
}
