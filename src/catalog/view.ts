import type { KeyValue, WatchEvent } from '../store/index.js';
import { parseKey } from './keys.js';
import type { CheckRecord, Indexed, NodeRecord, ServiceRecord, Topic } from './types.js';

/** Everything the catalog knows about one node. */
export interface NodeState {
  node: Indexed<NodeRecord> | undefined;
  services: Map<string, Indexed<ServiceRecord>>;
  /** Checks by ServiceID ('' = node-level), then by CheckID. */
  checksByService: Map<string, Map<string, Indexed<CheckRecord>>>;
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
  return owner === undefined ? undefined : s.checksByService.get(owner)?.get(id);
}

function bump<K>(m: Map<K, number>, k: K, rev: number): void {
  const cur = m.get(k);
  if (cur === undefined || rev > cur) m.set(k, rev);
}

const indexed = <T>(kv: KeyValue): Indexed<T> => ({
  record: JSON.parse(kv.value) as T,
  createIndex: kv.createRevision,
  modifyIndex: kv.modRevision,
});

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
      s.node = ev.type === 'put' ? indexed<NodeRecord>(ev.kv) : undefined;
      this.bumpTable('nodes', rev);
      this.bumpTable('services', rev);
      this.touchNode(parsed.node, rev, topics, true);
      topics.add('table:nodes');
      topics.add('table:services');
    } else if (parsed.kind === 'service') {
      const before = s.services.get(parsed.id);
      if (before) {
        this.unindexInstance(before.record.Service, parsed.node, parsed.id);
        this.touchService(before.record.Service, rev, topics);
      }
      if (ev.type === 'put') {
        const svc = indexed<ServiceRecord>(ev.kv);
        s.services.set(parsed.id, svc);
        this.indexInstance(svc.record.Service, parsed.node, parsed.id);
        this.touchService(svc.record.Service, rev, topics);
      } else {
        s.services.delete(parsed.id);
      }
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
      const m = s.checksByService.get(prev.ServiceID);
      if (m?.delete(id)) {
        s.checkCount--;
        this.checkCount--;
        s.checkOwner.delete(id);
        if (m.size === 0) s.checksByService.delete(prev.ServiceID);
      }
      this.touchCheckOwner(s, node, prev, rev, topics);
    }
    if (ev.type === 'put') {
      const chk = indexed<CheckRecord>(ev.kv);
      let m = s.checksByService.get(chk.record.ServiceID);
      if (!m) s.checksByService.set(chk.record.ServiceID, (m = new Map()));
      m.set(id, chk);
      s.checkOwner.set(id, chk.record.ServiceID);
      s.checkCount++;
      this.checkCount++;
      this.touchCheckOwner(s, node, chk.record, rev, topics);
    }
    this.bumpTable('checks', rev);
    topics.add('table:checks');
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

  private indexInstance(name: string, node: string, id: string): void {
    let m = this.byName.get(name);
    if (!m) this.byName.set(name, (m = new Map()));
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
