import { BeaconError, isBeaconError } from '../errors/index.js';
import type { Store, WatchBatch, WatchHandle } from '../store/index.js';
import { aggregateStatus } from './aggregate.js';
import { CatalogCommands, type CommandView } from './commands.js';
import { CATALOG_PREFIX } from './keys.js';
import type {
  CheckChange,
  CheckListener,
  CheckRecord,
  HealthStatus,
  Indexed,
  InstanceQuery,
  InstanceView,
  NodeRecord,
  NodeView,
  RecordChange,
  RecordListener,
  ServiceRecord,
  Topic,
  Versioned,
} from './types.js';
import { CatalogView, findCheck, type InstanceRef, type NodeState } from './view.js';
import { TopicWaiters } from './waiters.js';

export type ChangeListener = (topics: ReadonlySet<Topic>, revision: number) => void;

export interface CatalogOptions {
  datacenter: string;
  /** Called when the watch fails for a reason other than compaction (it is re-established). */
  onWatchError?: (err: Error) => void;
}

const EMPTY_CHECKS: Indexed<CheckRecord>[] = [];

const atLeast1 = (n: number) => (n > 0 ? n : 1);

/**
 * A service's instances in Consul's order, by node and then service ID: the same on every
 * server, whatever order the records reached its view in (a server that started or re-listed
 * later loads them in key order, one that watched them arrive holds them in arrival order).
 */
function ordered(refs: ReadonlyMap<string, InstanceRef> | undefined): InstanceRef[] {
  if (!refs) return [];
  return [...refs.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The catalog: a materialized view of the store's catalog keys, kept up to date by a watch.
 * Reads are served from memory; writes go to the store and are visible once the watch has
 * delivered them back (use {@link Catalog.waitForRevision} for read-your-writes).
 *
 * @example
 * const catalog = new Catalog(store, { datacenter: 'dc1' });
 * await catalog.start();
 * const { value, index } = catalog.instances('payments', { passingOnly: true });
 */
export class Catalog implements CommandView {
  readonly datacenter: string;
  private readonly view = new CatalogView();
  private readonly waiters = new TopicWaiters();
  private readonly revisionWaiters: { rev: number; resolve: () => void }[] = [];
  private readonly listeners = new Set<ChangeListener>();
  private readonly checkListeners = new Set<CheckListener>();
  private readonly recordListeners = new Set<RecordListener>();
  private watch: WatchHandle | undefined;
  private stopped = false;
  private cmds: CatalogCommands | undefined;
  private readonly pending = new Map<string, { status: HealthStatus; output: string }>();
  private pendingSeq = 0;
  private readonly overlays = new WeakMap<Indexed<CheckRecord>, { p: { status: HealthStatus; output: string }; v: Indexed<CheckRecord> }>();

  constructor(
    private readonly store: Store,
    private readonly opts: CatalogOptions,
  ) {
    this.datacenter = opts.datacenter;
  }

  /** Lists the catalog keys and starts watching from the next revision. */
  async start(): Promise<void> {
    const { kvs, revision } = await this.store.range(CATALOG_PREFIX);
    this.view.load(kvs, revision);
    this.startWatch(revision + 1);
  }

  private startWatch(fromRevision: number): void {
    if (this.stopped) return;
    this.watch = this.store.watch({
      prefix: CATALOG_PREFIX,
      fromRevision,
      onBatch: (b) => this.applyBatch(b),
      onError: (err) => {
        if (this.stopped) return;
        if (!isBeaconError(err, 'BEACON_ERR_COMPACTED')) this.opts.onWatchError?.(err);
        // Re-list and watch again; wake every waiter since anything may have changed.
        setTimeout(() => void this.relist(), isBeaconError(err, 'BEACON_ERR_COMPACTED') ? 0 : 200 + Math.random() * 300);
      },
    });
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const { kvs, revision } = await this.store.range(CATALOG_PREFIX);
      const from = this.view.revision;
      this.view.load(kvs, revision);
      for (const l of this.checkListeners) l.reloaded();
      for (const l of this.recordListeners) l.reloaded(from, revision);
      this.waiters.notifyAll();
      this.settleRevisionWaiters();
      this.startWatch(revision + 1);
    } catch (err) {
      this.opts.onWatchError?.(err as Error);
      setTimeout(() => void this.relist(), 500 + Math.random() * 500);
    }
  }

  private applyBatch(b: WatchBatch): void {
    if (b.revision <= this.view.revision) return;
    const topics = new Set<Topic>();
    const checkChanges: CheckChange[] | undefined = this.checkListeners.size > 0 ? [] : undefined;
    const recordChanges: RecordChange[] | undefined = this.recordListeners.size > 0 ? [] : undefined;
    this.view.checkChanges = checkChanges;
    this.view.recordChanges = recordChanges;
    for (const ev of b.events) this.view.apply(ev, topics);
    this.view.checkChanges = undefined;
    this.view.recordChanges = undefined;
    this.view.revision = b.revision;
    if (checkChanges && checkChanges.length > 0) for (const l of this.checkListeners) l.changed(checkChanges, b.revision);
    if (recordChanges && recordChanges.length > 0) for (const l of this.recordListeners) l.changed(recordChanges, b.revision);
    this.settleRevisionWaiters();
    if (topics.size > 0) {
      this.waiters.notify(topics);
      for (const l of this.listeners) l(topics, b.revision);
    }
  }

  private settleRevisionWaiters(): void {
    const rev = this.view.revision;
    for (let i = this.revisionWaiters.length - 1; i >= 0; i--) {
      const w = this.revisionWaiters[i];
      if (w.rev <= rev) {
        this.revisionWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    this.waiters.notifyAll();
    for (const w of this.revisionWaiters.splice(0)) w.resolve();
  }

  // ---- consistency -------------------------------------------------------------------------

  /** The store revision this view has applied. */
  get revision(): number {
    return this.view.revision;
  }

  /** Resolves once the view has applied `rev` (or after timeoutMs: rejects STORE_UNAVAILABLE). */
  waitForRevision(rev: number, timeoutMs = 10_000): Promise<void> {
    if (rev <= this.view.revision || this.stopped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.revisionWaiters.indexOf(w);
        if (i >= 0) this.revisionWaiters.splice(i, 1);
        reject(new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', `catalog did not reach store revision ${rev} within ${timeoutMs} ms`));
      }, timeoutMs);
      const w = {
        rev,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.revisionWaiters.push(w);
    });
  }

  /** `consistent` read mode: read the store's current revision (a quorum read on etcd) and wait for it. */
  async catchUp(timeoutMs = 10_000): Promise<void> {
    await this.waitForRevision(await this.store.currentRevision(), timeoutMs);
  }

  /** Blocks until one of the topics changes, timeoutMs passes, or the signal aborts. */
  waitForChange(topics: readonly Topic[], timeoutMs: number, signal?: AbortSignal) {
    return this.waiters.wait(topics, timeoutMs, signal);
  }

  get blockingQueriesWaiting(): number {
    return this.waiters.waiting;
  }

  /** Listens to every applied change (DNS caches, streaming watches). Returns an unsubscribe. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Follows every check write and delete exactly, in revision order. Returns an unsubscribe. */
  onCheckChange(listener: CheckListener): () => void {
    this.checkListeners.add(listener);
    return () => this.checkListeners.delete(listener);
  }

  /**
   * Follows every record write and delete with the record before and after, in revision order
   * (the event history). Returns an unsubscribe.
   */
  onRecordChange(listener: RecordListener): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  // ---- indexes -----------------------------------------------------------------------------

  serviceIndex(name: string): number {
    return atLeast1(this.view.serviceIndex.get(name) ?? this.view.tableIndex.services);
  }
  nodeIndex(name: string): number {
    return atLeast1(this.view.nodeIndex.get(name) ?? this.view.tableIndex.nodes);
  }
  tableIndex(table: 'services' | 'nodes' | 'checks'): number {
    return atLeast1(this.view.tableIndex[table]);
  }

  get sizes(): { nodes: number; services: number; instances: number; checks: number } {
    return { nodes: this.view.nodes.size, services: this.view.byName.size, instances: this.view.instanceCount, checks: this.view.checkCount };
  }

  // ---- reads -------------------------------------------------------------------------------

  hasService(name: string): boolean {
    return this.view.byName.has(name);
  }

  /** Every service name with the union of its instances' tags. */
  services(q: { nodeMeta?: Record<string, string> } = {}): Versioned<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const name of [...this.view.byName.keys()].sort()) {
      let tags: Set<string> | undefined;
      for (const ref of ordered(this.view.byName.get(name))) {
        const s = this.view.nodes.get(ref.node);
        if (!s?.node || !metaMatches(s.node.record.Meta, q.nodeMeta)) continue;
        const svc = s.services.get(ref.id);
        if (!svc) continue;
        tags ??= new Set();
        for (const t of svc.record.Tags) tags.add(t);
      }
      if (tags) out.set(name, [...tags]);
    }
    return { value: out, index: this.tableIndex('services') };
  }

  /** Instances of a service with their node and checks, filtered by `q`. */
  instances(name: string, q: InstanceQuery = {}): Versioned<InstanceView[]> {
    const out: InstanceView[] = [];
    for (const ref of ordered(this.view.byName.get(name))) {
      const s = this.view.nodes.get(ref.node);
      const svc = s?.services.get(ref.id);
      if (!s?.node || !svc) continue;
      if (q.tags && q.tags.length > 0 && !hasAllTags(svc.record.Tags, q.tags)) continue;
      if (!metaMatches(s.node.record.Meta, q.nodeMeta)) continue;
      const checks = this.overlay(instanceChecks(s, ref.id));
      const status = aggregateStatus(checks);
      if (q.passingOnly && !allPassing(checks)) continue;
      if (q.healthFilter === 'not-critical' && (status === 'critical' || status === 'maintenance')) continue;
      if (q.healthFilter === 'passing' && status !== 'passing') continue;
      out.push({ node: s.node, service: svc, checks, status });
    }
    return { value: out, index: this.serviceIndex(name) };
  }

  /** One instance by node and service ID. */
  instance(node: string, id: string): InstanceView | undefined {
    const s = this.view.nodes.get(node);
    const svc = s?.services.get(id);
    if (!s?.node || !svc) return undefined;
    const checks = this.overlay(instanceChecks(s, id));
    return { node: s.node, service: svc, checks, status: aggregateStatus(checks) };
  }

  node(name: string): Versioned<NodeView | undefined> {
    const s = this.view.nodes.get(name);
    const value = s?.node ? { node: s.node, services: [...s.services.values()], checks: this.overlay(allChecks(s)) } : undefined;
    return { value, index: this.nodeIndex(name) };
  }

  nodes(q: { nodeMeta?: Record<string, string> } = {}): Versioned<Indexed<NodeRecord>[]> {
    const out: Indexed<NodeRecord>[] = [];
    for (const s of this.view.nodes.values()) {
      if (s.node && metaMatches(s.node.record.Meta, q.nodeMeta)) out.push(s.node);
    }
    out.sort((a, b) => (a.record.Node < b.record.Node ? -1 : a.record.Node > b.record.Node ? 1 : 0));
    return { value: out, index: this.tableIndex('nodes') };
  }

  /** Checks of every instance of a service (not node checks), as Consul's /health/checks. */
  serviceChecks(name: string): Versioned<Indexed<CheckRecord>[]> {
    const out: Indexed<CheckRecord>[] = [];
    for (const ref of ordered(this.view.byName.get(name))) {
      const list = this.view.nodes.get(ref.node)?.checksByService.get(ref.id);
      if (list) out.push(...this.overlay(list));
    }
    return { value: out, index: this.serviceIndex(name) };
  }

  nodeChecks(name: string): Versioned<Indexed<CheckRecord>[]> {
    const s = this.view.nodes.get(name);
    return { value: s ? this.overlay(allChecks(s)) : [], index: this.nodeIndex(name) };
  }

  checksInState(state: HealthStatus | 'any'): Versioned<Indexed<CheckRecord>[]> {
    return { value: this.collectChecks(state, true), index: this.tableIndex('checks') };
  }

  private collectChecks(state: HealthStatus | 'any', withPending: boolean): Indexed<CheckRecord>[] {
    const out: Indexed<CheckRecord>[] = [];
    const overlay = withPending && this.pending.size > 0;
    for (const s of this.view.nodes.values()) {
      for (const list of s.checksByService.values()) {
        for (const stored of list) {
          const c = overlay ? this.overlaid(stored) : stored;
          if (state === 'any' || c.record.Status === state) out.push(c);
        }
      }
    }
    return out;
  }

  /** A check as answers show it: with a status decided but not yet written, when there is one. */
  check(node: string, checkId: string): Indexed<CheckRecord> | undefined {
    const c = this.storedCheck(node, checkId);
    return c && this.pending.size > 0 ? this.overlaid(c) : c;
  }

  /** A check as the store has it (what commands guard on, and what health checkers compare with). */
  storedCheck(node: string, checkId: string): Indexed<CheckRecord> | undefined {
    const s = this.view.nodes.get(node);
    return s ? findCheck(s, checkId) : undefined;
  }

  /** The checks as the store has them, for the health checkers (statuses not yet written are theirs). */
  readonly stored = {
    checksInState: (state: 'any'): { value: Indexed<CheckRecord>[] } => ({ value: this.collectChecks(state, false) }),
    check: (node: string, checkId: string): Indexed<CheckRecord> | undefined => this.storedCheck(node, checkId),
    onCheckChange: (listener: CheckListener): (() => void) => this.onCheckChange(listener),
  };

  // ---- statuses decided but not yet written ------------------------------------------------

  /**
   * A check status a health checker decided but could not write (the store refuses writes, or
   * kept conflicting). Until it is written, every answer shows it — HTTP, DNS, blocking queries
   * — so a dead instance is never answered as passing because its critical status is stuck on
   * the way to the store. `undefined` clears it (written, or no longer wanted).
   */
  setPending(node: string, checkId: string, r: { status: HealthStatus; output: string } | undefined): void {
    const key = `${node}\u0000${checkId}`;
    const cur = this.pending.get(key);
    if (r === undefined ? cur === undefined : cur !== undefined && cur.status === r.status && cur.output === r.output) return;
    if (r) this.pending.set(key, { status: r.status, output: r.output });
    else this.pending.delete(key);
    this.pendingSeq++;
    const topics = new Set<Topic>(['table:checks', `node:${node}`]);
    const s = this.view.nodes.get(node);
    const c = s ? findCheck(s, checkId) : undefined;
    if (s) {
      const owner = c?.record.ServiceID ? s.services.get(c.record.ServiceID) : undefined;
      if (owner) topics.add(`svc:${owner.record.Service}`);
      else for (const svc of s.services.values()) topics.add(`svc:${svc.record.Service}`);
    }
    this.waiters.notify(topics);
    for (const l of this.listeners) l(topics, this.view.revision);
  }

  /** How many checks show a status not yet written (0 on a healthy server). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Moves whenever the statuses not yet written change (blocking queries answer then). */
  get pendingVersion(): number {
    return this.pendingSeq;
  }

  private overlaid(c: Indexed<CheckRecord>): Indexed<CheckRecord> {
    const p = this.pending.get(`${c.record.Node}\u0000${c.record.CheckID}`);
    if (!p || (p.status === c.record.Status && p.output === c.record.Output)) return c;
    const seen = this.overlays.get(c);
    if (seen && seen.p === p) return seen.v;
    const v: Indexed<CheckRecord> = { record: { ...c.record, Status: p.status, Output: p.output }, createIndex: c.createIndex, modifyIndex: c.modifyIndex };
    this.overlays.set(c, { p, v });
    return v;
  }

  private overlay(list: Indexed<CheckRecord>[]): Indexed<CheckRecord>[] {
    return this.pending.size === 0 ? list : list.map((c) => this.overlaid(c));
  }

  /** Nodes whose address is `ip`, and instances whose service address is `ip` (PTR lookups). */
  byAddress(ip: string): { nodes: Indexed<NodeRecord>[]; instances: InstanceView[] } {
    const nodes: Indexed<NodeRecord>[] = [];
    const instances: InstanceView[] = [];
    for (const [name, s] of this.view.nodes) {
      if (!s.node) continue;
      if (s.node.record.Address === ip) nodes.push(s.node);
      for (const svc of s.services.values()) {
        if (svc.record.Address === ip) {
          const iv = this.instance(name, svc.record.ID);
          if (iv) instances.push(iv);
        }
      }
    }
    return { nodes, instances };
  }

  // ---- the write path ----------------------------------------------------------------------

  /** The commands that change the catalog (commands.ts): the only way anything writes it. */
  get commands(): CatalogCommands {
    return (this.cmds ??= new CatalogCommands(this.store, this));
  }

  /** A node's record (commands read through these). */
  nodeRecord(node: string): Indexed<NodeRecord> | undefined {
    return this.view.nodes.get(node)?.node;
  }
  serviceRecord(node: string, id: string): Indexed<ServiceRecord> | undefined {
    return this.view.nodes.get(node)?.services.get(id);
  }
  /** The checks filed under a service of a node ('' = the node's own checks). */
  checksOf(node: string, serviceId: string): readonly Indexed<CheckRecord>[] {
    return this.view.nodes.get(node)?.checksByService.get(serviceId) ?? EMPTY_CHECKS;
  }
}

function instanceChecks(s: NodeState, serviceId: string): Indexed<CheckRecord>[] {
  const nodeChecks = s.checksByService.get('');
  const svcChecks = s.checksByService.get(serviceId);
  if (!nodeChecks && !svcChecks) return EMPTY_CHECKS;
  const out: Indexed<CheckRecord>[] = [];
  if (nodeChecks) out.push(...nodeChecks);
  if (svcChecks) out.push(...svcChecks);
  return out;
}

function allChecks(s: NodeState): Indexed<CheckRecord>[] {
  const out: Indexed<CheckRecord>[] = [];
  for (const list of s.checksByService.values()) out.push(...list);
  return out;
}

function allPassing(checks: readonly Indexed<CheckRecord>[]): boolean {
  for (const c of checks) if (c.record.Status !== 'passing') return false;
  return true;
}

function hasAllTags(have: readonly string[], want: readonly string[]): boolean {
  for (const t of want) if (!have.includes(t)) return false;
  return true;
}

function metaMatches(meta: Record<string, string>, want: Record<string, string> | undefined): boolean {
  if (!want) return true;
  for (const k in want) if (meta[k] !== want[k]) return false;
  return true;
}
