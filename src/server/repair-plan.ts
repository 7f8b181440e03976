/**
 * Anti-entropy planning: compares this server's node in the catalog with the local state and
 * lists the catalog commands that put it back. Pure (no I/O, no clock), so every case is a unit
 * test; anti-entropy.ts runs the plan.
 */
import type { CheckRecord, HealthStatus, Indexed, NodeRecord, ServiceRecord } from '../catalog/index.js';
import { ALIVE_OUTPUT, DEAD_OUTPUT, SERF_CHECK_ID } from '../health/index.js';

/** What the node should be: the local state. Checks are definitions (their status is not compared). */
export interface DesiredNode {
  readonly node: NodeRecord;
  readonly services: ReadonlyMap<string, { readonly service: ServiceRecord }>;
  readonly checks: ReadonlyMap<string, { readonly check: CheckRecord }>;
  /** The checks filed under a service ('' = node checks). */
  checksOf(serviceId: string): readonly { readonly check: CheckRecord }[];
}

/** What the catalog holds for the node now (lookups, so a pass builds no index of its own). */
export interface ActualNode {
  readonly node: Indexed<NodeRecord> | undefined;
  readonly services: readonly Indexed<ServiceRecord>[];
  readonly checks: readonly Indexed<CheckRecord>[];
  service(id: string): Indexed<ServiceRecord> | undefined;
  check(id: string): Indexed<CheckRecord> | undefined;
  /** The checks filed under a service ('' = node checks). */
  checksOf(serviceId: string): readonly Indexed<CheckRecord>[];
}

export type Repair =
  /** The node record is gone: the node with every service and check, in one write. */
  | { type: 'restore-node'; node: NodeRecord; services: ServiceRecord[]; checks: CheckRecord[] }
  /** The node record differs in `fields`. */
  | { type: 'update-node'; node: NodeRecord; fields: string[] }
  /** A service (and all its checks) registered again: it was missing or changed, or some of its checks were. */
  | {
      type: 'register-service';
      service: ServiceRecord;
      checks: CheckRecord[];
      serviceState: 'missing' | 'changed' | 'ok';
      restoredChecks: string[];
      removedChecks: string[];
    }
  /** A node-level check missing or changed. */
  | { type: 'register-check'; check: CheckRecord; why: 'missing' | 'changed' }
  | { type: 'remove-service'; id: string }
  | { type: 'remove-check'; id: string }
  /** serfHealth back to passing while the session is up; a maintenance check back to critical. */
  | { type: 'set-status'; checkId: string; status: HealthStatus; output: string; kind: 'serf_health' | 'maintenance' };

/** The label values of beacon_server_anti_entropy_repairs_total. */
export const REPAIR_KINDS = ['node', 'service', 'check', 'serf_health', 'maintenance', 'removed_service', 'removed_check'] as const;
export type RepairKind = (typeof REPAIR_KINDS)[number];

/** How many things of each kind a repair puts back. */
export function repairCounts(r: Repair): Partial<Record<RepairKind, number>> {
  switch (r.type) {
    case 'restore-node':
      return { node: 1, service: r.services.length, check: r.checks.length };
    case 'update-node':
      return { node: 1 };
    case 'register-service':
      return { service: r.serviceState === 'ok' ? 0 : 1, check: r.restoredChecks.length, removed_check: r.removedChecks.length };
    case 'register-check':
      return { check: 1 };
    case 'remove-service':
      return { removed_service: 1 };
    case 'remove-check':
      return { removed_check: 1 };
    case 'set-status':
      return { [r.kind]: 1 };
  }
}

/** The status a check starts with when anti-entropy creates it: critical, except serfHealth while the session is up. */
export function initialStatus(c: CheckRecord, sessionUp: boolean): CheckRecord {
  if (c.CheckID === SERF_CHECK_ID) return sessionUp ? { ...c, Status: 'passing', Output: ALIVE_OUTPUT } : { ...c, Status: 'critical', Output: DEAD_OUTPUT };
  return { ...c, Status: 'critical', Output: '' };
}

/** Deep equality of JSON values, ignoring key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) if (!(k in bo) || !sameJson(ao[k], bo[k])) return false;
  return true;
}

const NODE_FIELDS = ['ID', 'Node', 'Address', 'Datacenter', 'TaggedAddresses', 'Meta'] as const;

/** What of a check is its definition (status, output and the service's name and tags are not). */
function sameDefinition(a: CheckRecord, b: CheckRecord): boolean {
  return a.Name === b.Name && a.Notes === b.Notes && a.ServiceID === b.ServiceID && a.Type === b.Type && sameJson(a.Definition, b.Definition);
}

/**
 * Plans repairs. Keeps, per catalog record object (the catalog replaces a record's object on
 * every change), the local record it was last found equal to, so a node with many services
 * costs a map lookup per unchanged service, not a deep comparison.
 */
export class RepairPlanner {
  private readonly sameService = new WeakMap<Indexed<ServiceRecord>, ServiceRecord>();
  private readonly sameCheck = new WeakMap<Indexed<CheckRecord>, CheckRecord>();

  plan(desired: DesiredNode, actual: ActualNode, sessionUp: boolean): Repair[] {
    if (!actual.node) {
      return [
        {
          type: 'restore-node',
          node: desired.node,
          services: [...desired.services.values()].map((e) => e.service),
          checks: [...desired.checks.values()].map((e) => initialStatus(e.check, sessionUp)),
        },
      ];
    }
    const out: Repair[] = [];
    const fields = NODE_FIELDS.filter((f) => !sameJson(desired.node[f], actual.node!.record[f]));
    if (fields.length > 0) out.push({ type: 'update-node', node: desired.node, fields });

    for (const { service: svc } of desired.services.values()) {
      const a = actual.service(svc.ID);
      const serviceState = !a ? 'missing' : this.serviceMatches(a, svc) ? 'ok' : 'changed';
      const mine = desired.checksOf(svc.ID);
      let restoredChecks: string[] | undefined;
      for (const { check: c } of mine) if (!this.checkMatches(actual.check(c.CheckID), c)) (restoredChecks ??= []).push(c.CheckID);
      // Checks filed under the service in the catalog that the local state does not file there.
      let removedChecks: string[] | undefined;
      for (const c of actual.checksOf(svc.ID)) {
        if (desired.checks.get(c.record.CheckID)?.check.ServiceID !== svc.ID) (removedChecks ??= []).push(c.record.CheckID);
      }
      if (serviceState !== 'ok' || restoredChecks || removedChecks) {
        out.push({
          type: 'register-service',
          service: svc,
          checks: mine.map((e) => initialStatus(e.check, sessionUp)),
          serviceState,
          restoredChecks: restoredChecks ?? [],
          removedChecks: removedChecks ?? [],
        });
      }
    }
    for (const { check: c } of desired.checksOf('')) {
      const a = actual.check(c.CheckID);
      if (!a) out.push({ type: 'register-check', check: initialStatus(c, sessionUp), why: 'missing' });
      else if (!this.checkMatches(a, c)) out.push({ type: 'register-check', check: c, why: 'changed' });
    }
    for (const a of actual.services) if (!desired.services.has(a.record.ID)) out.push({ type: 'remove-service', id: a.record.ID });
    for (const a of actual.checks) {
      const sid = a.record.ServiceID;
      if (desired.checks.has(a.record.CheckID)) continue;
      // A check under a service goes with that service's repair or removal.
      if (sid === '' || (!desired.services.has(sid) && !actual.service(sid))) out.push({ type: 'remove-check', id: a.record.CheckID });
    }
    for (const { check: c } of desired.checks.values()) {
      if (c.CheckID !== SERF_CHECK_ID && c.Type !== 'maintenance') continue;
      const a = actual.check(c.CheckID)?.record;
      if (!a) continue; // created above with the right status
      if (c.CheckID === SERF_CHECK_ID) {
        if (sessionUp && (a.Status !== 'passing' || a.Output !== ALIVE_OUTPUT)) {
          out.push({ type: 'set-status', checkId: c.CheckID, status: 'passing', output: ALIVE_OUTPUT, kind: 'serf_health' });
        }
      } else if (a.Status !== 'critical') {
        out.push({ type: 'set-status', checkId: c.CheckID, status: 'critical', output: a.Output, kind: 'maintenance' });
      }
    }
    return out;
  }

  private serviceMatches(a: Indexed<ServiceRecord>, want: ServiceRecord): boolean {
    if (this.sameService.get(a) === want) return true;
    if (!sameJson(a.record, want)) return false;
    this.sameService.set(a, want);
    return true;
  }

  private checkMatches(a: Indexed<CheckRecord> | undefined, want: CheckRecord): boolean {
    if (!a) return false;
    if (this.sameCheck.get(a) === want) return true;
    if (!sameDefinition(a.record, want)) return false;
    this.sameCheck.set(a, want);
    return true;
  }
}
