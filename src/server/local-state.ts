import type { CheckRecord, NodeRecord, ServiceRecord } from '../catalog/index.js';

/**
 * Where an entry of this server's node came from: the agent API, the config file, or the
 * server itself (its node's `consul` service and `serfHealth` check, rebuilt at every start).
 */
export type EntrySource = 'api' | 'config' | 'server';

export interface LocalService {
  readonly service: ServiceRecord;
  readonly source: EntrySource;
}

export interface LocalCheck {
  /** The check's definition: Status and Output are not kept (health owns them). */
  readonly check: CheckRecord;
  readonly source: EntrySource;
}

/**
 * One change to the local state, as written to its journal. Each op sets or removes exactly one
 * entry (no cascades), so replaying a journal on a snapshot that already holds some of its ops
 * gives the same state: the last op on each entry wins.
 */
export type LocalOp =
  | { op: 'node'; id: string; meta: Record<string, string> }
  | { op: 'service'; source: EntrySource; service: ServiceRecord }
  | { op: 'service-'; id: string }
  | { op: 'check'; source: EntrySource; check: CheckRecord }
  | { op: 'check-'; id: string };

/** What the local state file holds: node identity and every API and config entry. */
export interface PersistedState {
  node: { ID: string; Meta: Record<string, string> };
  services: LocalService[];
  checks: LocalCheck[];
}

const NO_CHECKS: readonly LocalCheck[] = Object.freeze([]);

/** A check as the local state keeps it: its definition, with no status of its own. */
export function definitionOf(c: CheckRecord, svc: ServiceRecord | undefined): CheckRecord {
  return {
    ...c,
    Status: 'critical',
    Output: '',
    ServiceID: svc?.ID ?? c.ServiceID,
    ServiceName: svc?.Service ?? '',
    ServiceTags: svc?.Tags ?? [],
  };
}

/**
 * This server's own node as the server means it to be — the source of truth anti-entropy puts
 * the catalog back to: the node record, the services and checks registered through the agent
 * API and the config file (their definitions, not their status), the `consul` service and the
 * `serfHealth` check. Entries are immutable objects, replaced on change. Changes are made by
 * planning ops (`plan*`), persisting them, and applying them here (`apply`).
 */
export class LocalState {
  private nodeRecord: NodeRecord;
  readonly services = new Map<string, LocalService>();
  readonly checks = new Map<string, LocalCheck>();
  /** Checks by the ServiceID they are filed under ('' = node checks), so a service's checks are found without a scan. */
  private readonly byService = new Map<string, Map<string, LocalCheck>>();

  constructor(node: NodeRecord) {
    this.nodeRecord = node;
  }

  get node(): NodeRecord {
    return this.nodeRecord;
  }

  get name(): string {
    return this.nodeRecord.Node;
  }

  /** The checks filed under a service ('' = the node's own checks). */
  checksOf(serviceId: string): readonly LocalCheck[] {
    const m = this.byService.get(serviceId);
    return m ? [...m.values()] : NO_CHECKS;
  }

  private fileCheck(c: LocalCheck | undefined, add: boolean): void {
    if (!c) return;
    const sid = c.check.ServiceID;
    let m = this.byService.get(sid);
    if (add) {
      if (!m) this.byService.set(sid, (m = new Map<string, LocalCheck>()));
      m.set(c.check.CheckID, c);
    } else if (m) {
      m.delete(c.check.CheckID);
      if (m.size === 0) this.byService.delete(sid);
    }
  }

  apply(ops: readonly LocalOp[]): void {
    for (const o of ops) {
      switch (o.op) {
        case 'node':
          this.nodeRecord = { ...this.nodeRecord, ID: o.id, Meta: o.meta };
          break;
        case 'service':
          this.services.set(o.service.ID, { service: o.service, source: o.source });
          break;
        case 'service-':
          this.services.delete(o.id);
          break;
        case 'check': {
          const c = { check: o.check, source: o.source };
          this.fileCheck(this.checks.get(o.check.CheckID), false);
          this.checks.set(o.check.CheckID, c);
          this.fileCheck(c, true);
          break;
        }
        case 'check-':
          this.fileCheck(this.checks.get(o.id), false);
          this.checks.delete(o.id);
          break;
      }
    }
  }

  /**
   * A service registration: the service, the checks given, and (with `replaceExistingChecks`)
   * removal of its other checks; kept checks are re-filed under the new record.
   */
  planService(svc: ServiceRecord, checks: readonly CheckRecord[], opts: { replaceExistingChecks: boolean; source: EntrySource }): LocalOp[] {
    const ops: LocalOp[] = [{ op: 'service', source: opts.source, service: svc }];
    const listed = new Set(checks.map((c) => c.CheckID));
    for (const c of checks) ops.push({ op: 'check', source: opts.source, check: definitionOf({ ...c, Node: this.name }, svc) });
    for (const e of this.checksOf(svc.ID)) {
      if (listed.has(e.check.CheckID)) continue;
      ops.push(opts.replaceExistingChecks ? { op: 'check-', id: e.check.CheckID } : { op: 'check', source: e.source, check: definitionOf(e.check, svc) });
    }
    return ops;
  }

  /** Removing a service removes the checks filed under it. */
  planServiceRemoval(id: string): LocalOp[] {
    const ops: LocalOp[] = [];
    if (this.services.has(id)) ops.push({ op: 'service-', id });
    for (const c of this.checksOf(id)) ops.push({ op: 'check-', id: c.check.CheckID });
    return ops;
  }

  planCheck(check: CheckRecord, source: EntrySource): LocalOp[] {
    const svc = check.ServiceID ? this.services.get(check.ServiceID)?.service : undefined;
    return [{ op: 'check', source, check: definitionOf({ ...check, Node: this.name }, svc) }];
  }

  planCheckRemoval(id: string): LocalOp[] {
    return this.checks.has(id) ? [{ op: 'check-', id }] : [];
  }

  /** What the file keeps: the node's identity and every entry that is not the server's own. */
  toPersisted(): PersistedState {
    return {
      node: { ID: this.nodeRecord.ID, Meta: this.nodeRecord.Meta },
      services: [...this.services.values()].filter((s) => s.source !== 'server'),
      checks: [...this.checks.values()].filter((c) => c.source !== 'server'),
    };
  }

  /** Ops that rebuild `p` (used to load a snapshot). */
  static opsOf(p: PersistedState): LocalOp[] {
    return [
      { op: 'node', id: p.node.ID, meta: p.node.Meta },
      ...p.services.map((s): LocalOp => ({ op: 'service', source: s.source, service: s.service })),
      ...p.checks.map((c): LocalOp => ({ op: 'check', source: c.source, check: c.check })),
    ];
  }
}
