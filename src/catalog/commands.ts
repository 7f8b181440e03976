/**
 * The catalog's write path: commands in the domain's words. Each command reads what it needs
 * from this server's view, turns it into one store transaction guarded by the revisions it
 * read (compare-and-swap), and on a conflict catches the view up and plans again, a bounded
 * number of times. Several servers on one store therefore never lose an update or leave a
 * check without its service: whatever interleaving happens, the result is that of some serial
 * order of the acknowledged commands.
 *
 * Two rules make the guards complete:
 * - every write of a service's check also rewrites the service's own key (same value), so a
 *   command that read a service (and so its checks) sees its guard fail when a check was added
 *   or changed since;
 * - every write under a node guards the node's key, so nothing lands on a node deleted meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { BeaconError, isBeaconError } from '../errors/index.js';
import type { Compare, Store, TxnOp } from '../store/index.js';
import { NODE_MAINTENANCE_CHECK, SERVICE_MAINTENANCE_PREFIX } from './aggregate.js';
import { checkKey, nodeChecksPrefix, nodeKey, nodeServicesPrefix, serviceKey } from './keys.js';
import type { NodeRegistration } from './registration.js';
import type { Fence } from './servers.js';
import type { CheckRecord, HealthStatus, Indexed, NodeRecord, ServiceRecord } from './types.js';

/** What the commands read: the catalog's view, and how to wait for it. */
export interface CommandView {
  readonly datacenter: string;
  readonly revision: number;
  nodeRecord(node: string): Indexed<NodeRecord> | undefined;
  serviceRecord(node: string, id: string): Indexed<ServiceRecord> | undefined;
  /** The checks filed under a service ('' = the node's own checks). */
  checksOf(node: string, serviceId: string): readonly Indexed<CheckRecord>[];
  /** A check as the store has it. */
  storedCheck(node: string, checkId: string): Indexed<CheckRecord> | undefined;
  /** Shows (or, with undefined, stops showing) a status decided but not yet written. */
  setPending(node: string, checkId: string, r: { status: HealthStatus; output: string } | undefined): void;
  waitForRevision(rev: number): Promise<void>;
  catchUp(): Promise<void>;
}

export const DEFAULT_NODE_MAINT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';
export const DEFAULT_SERVICE_MAINT_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

/**
 * The critical check that puts a node (or one of its services) in maintenance, as a node's owner
 * (a server's own node, an agent's) keeps it: `_node_maintenance`, or `_service_maintenance:<id>`
 * carrying the service's name and tags; Consul's default note when no reason is given.
 */
export function maintenanceCheck(node: string, reason: string, svc?: Pick<ServiceRecord, 'ID' | 'Service' | 'Tags'>): CheckRecord {
  return {
    Node: node,
    CheckID: svc ? SERVICE_MAINTENANCE_PREFIX + svc.ID : NODE_MAINTENANCE_CHECK,
    Name: svc ? 'Service Maintenance Mode' : 'Node Maintenance Mode',
    Status: 'critical',
    Notes: reason || (svc ? DEFAULT_SERVICE_MAINT_REASON : DEFAULT_NODE_MAINT_REASON),
    Output: '',
    ServiceID: svc?.ID ?? '',
    ServiceName: svc?.Service ?? '',
    ServiceTags: svc?.Tags ?? [],
    Type: 'maintenance',
    Definition: {},
  };
}

/** A transaction planned from the view: its guards, its writes, and what the command returns. */
interface Plan<T> {
  compares: Compare[];
  ops: TxnOp[];
  result: T;
}

/** How often a command re-plans after a conflict before it answers BEACON_ERR_CONFLICT. */
export const MAX_ATTEMPTS = 12;

export interface CommandStats {
  /** Transactions whose guards failed (each was planned again). */
  conflicts: number;
}

/** Guards a record as read: same modify revision (0: still absent). */
const unchanged = (key: string, rec: Indexed<unknown> | undefined): Compare => ({ key, target: 'modRevision', op: '==', value: rec?.modifyIndex ?? 0 });
/** Guards a node's existence as read (not deleted, not deleted and made again). */
const sameNode = (node: string, rec: Indexed<NodeRecord>): Compare => ({ key: nodeKey(node), target: 'createRevision', op: '==', value: rec.createIndex });

const putNode = (n: NodeRecord): TxnOp => ({ type: 'put', key: nodeKey(n.Node), value: JSON.stringify(n) });
const putService = (node: string, s: ServiceRecord): TxnOp => ({ type: 'put', key: serviceKey(node, s.ID), value: JSON.stringify(s) });
const putCheck = (c: CheckRecord): TxnOp => ({ type: 'put', key: checkKey(c.Node, c.CheckID), value: JSON.stringify(c) });
const delCheck = (node: string, id: string): TxnOp => ({ type: 'delete', key: checkKey(node, id) });

/** Go's %q for the ASCII names Consul quotes in messages. */
const quote = (s: string): string => JSON.stringify(s);

function nodeMissing(node: string): BeaconError {
  return new BeaconError('BEACON_ERR_NOT_FOUND', `Node ${quote(node)} is not registered`, { field: 'Node' });
}

/** A check filed under its service, with the service's name and tags (derived data, always current). */
function underService(c: CheckRecord, svc: ServiceRecord | undefined): CheckRecord {
  return { ...c, ServiceID: svc?.ID ?? '', ServiceName: svc?.Service ?? '', ServiceTags: svc?.Tags ?? [] };
}

export interface RegisterServiceOptions {
  /** Remove the service's checks that this registration does not list (Consul's replace-existing-checks). */
  replaceExistingChecks?: boolean;
  /** Register this node first when it is missing (an agent registering on its own node). */
  node?: NodeRecord;
}

export interface CatalogRegistration {
  node: NodeRegistration;
  /** Leave an existing node's record as it is (Consul's SkipNodeUpdate). */
  skipNodeUpdate?: boolean;
  service?: ServiceRecord;
  checks: CheckRecord[];
  /** Where each check came from in the request (`Check`, `Checks[1]`), for error messages. */
  checkFields?: string[];
}

/** Consul's check-and-set: write only if the entity's modify index is this (0: it must not exist). */
export interface CasOption {
  cas?: number;
}

/**
 * A write made on behalf of a server-group membership (cluster mode): it lands only while that
 * membership lasts, else it fails with BEACON_ERR_NOT_OWNER and writes nothing.
 */
export interface FenceOption {
  fence?: Fence;
}

/**
 * The catalog's commands. Each resolves once this server's view has the write (read your writes).
 *
 * @example
 * await catalog.commands.registerService('node-1', svc, checks, { replaceExistingChecks: true });
 * await catalog.commands.setCheckStatus('node-1', 'service:web-1', { status: 'critical', output: 'timeout' });
 */
export class CatalogCommands {
  readonly stats: CommandStats = { conflicts: 0 };

  constructor(
    private readonly store: Store,
    private readonly view: CommandView,
  ) {}

  /**
   * Plans and commits, re-planning on a conflict. A plan that finds nothing to write, or
   * something missing, is confirmed against the store before it is answered: the view may be
   * behind (a change made through another server not delivered yet), and a "nothing to do"
   * decided on it would be acknowledged without being true, with no guard to catch it.
   */
  private async run<T>(what: string, plan: () => Plan<T>, opts: { catchUpFirst?: boolean; fence?: Fence } = {}): Promise<T> {
    let caughtUp = opts.catchUpFirst === true;
    if (caughtUp) await this.view.catchUp();
    const fence = opts.fence;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let p: Plan<T>;
      try {
        p = plan();
      } catch (err) {
        if (caughtUp || !isBeaconError(err, 'BEACON_ERR_NOT_FOUND')) throw err;
        await this.view.catchUp();
        caughtUp = true;
        continue;
      }
      if (p.ops.length === 0) {
        if (caughtUp) return p.result;
        await this.view.catchUp();
        caughtUp = true;
        continue;
      }
      const compares = fence
        ? [...p.compares, { key: fence.key, target: 'createRevision' as const, op: '==' as const, value: fence.createRevision }]
        : p.compares;
      const res = await this.store.txn(compares, p.ops);
      if (res.succeeded) {
        await this.view.waitForRevision(res.revision);
        return p.result;
      }
      if (fence && (await this.store.get(fence.key))?.createRevision !== fence.createRevision) {
        throw new BeaconError('BEACON_ERR_NOT_OWNER', `${what}: this server's membership of the server group ended; the write was not made`);
      }
      this.stats.conflicts++;
      // What was read changed: catch up with the store, then plan again (jittered after a few).
      await this.view.catchUp();
      caughtUp = true;
      if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
    throw new BeaconError('BEACON_ERR_CONFLICT', `${what}: the catalog kept changing under it (${MAX_ATTEMPTS} attempts); try again`);
  }

  // ---- services ----------------------------------------------------------------------------

  /**
   * Registers (or re-registers) a service with its checks on a node, as Consul's agent does:
   * a check registered again keeps its current status and output; checks of the service not
   * listed are removed with `replaceExistingChecks`, else kept (with the service's new name and
   * tags). The node must exist, unless `opts.node` is given to create it.
   */
  registerService(node: string, svc: ServiceRecord, checks: readonly CheckRecord[], opts: RegisterServiceOptions = {}): Promise<number> {
    return this.run(`registering service ${quote(svc.ID)}`, () => {
      const v = this.view;
      const compares: Compare[] = [];
      const ops: TxnOp[] = [];
      const n = v.nodeRecord(node);
      if (n) compares.push(sameNode(node, n));
      else if (opts.node) {
        compares.push(unchanged(nodeKey(node), undefined));
        ops.push(putNode(opts.node));
      } else throw nodeMissing(node);
      const prevSvc = v.serviceRecord(node, svc.ID);
      compares.push(unchanged(serviceKey(node, svc.ID), prevSvc));
      ops.push(putService(node, svc));
      const existing = v.checksOf(node, svc.ID);
      for (const c of checks) {
        const prev = v.storedCheck(node, c.CheckID);
        compares.push(unchanged(checkKey(node, c.CheckID), prev));
        if (prev?.record.ServiceID && prev.record.ServiceID !== svc.ID) this.touchService(node, prev.record.ServiceID, compares, ops);
        // Re-registering keeps the current status and output (Consul snapshots them to avoid flapping).
        const kept = prev && prev.record.ServiceID === svc.ID ? { ...c, Status: prev.record.Status, Output: prev.record.Output } : c;
        ops.push(putCheck(underService({ ...kept, Node: node }, svc)));
      }
      for (const e of existing) {
        if (checks.some((c) => c.CheckID === e.record.CheckID)) continue;
        compares.push(unchanged(checkKey(node, e.record.CheckID), e));
        ops.push(opts.replaceExistingChecks ? delCheck(node, e.record.CheckID) : putCheck(underService(e.record, svc)));
      }
      return { compares, ops, result: 0 };
    }).then(() => this.view.revision);
  }

  /** Deregisters a service and every check filed under it. Resolves false when it was not there. */
  deregisterService(node: string, id: string, opts: CasOption & FenceOption = {}): Promise<boolean> {
    return this.run(
      `deregistering service ${quote(id)}`,
      () => {
        const svc = this.view.serviceRecord(node, id);
        if (!svc) return { compares: [], ops: [], result: false };
        if (opts.cas !== undefined && svc.modifyIndex !== opts.cas) return { compares: [], ops: [], result: false };
        const ops: TxnOp[] = [{ type: 'delete', key: serviceKey(node, id) }];
        for (const c of this.view.checksOf(node, id)) ops.push(delCheck(node, c.record.CheckID));
        return { compares: [unchanged(serviceKey(node, id), svc)], ops, result: true };
      },
      { catchUpFirst: opts.cas !== undefined, fence: opts.fence },
    );
  }

  // ---- checks ------------------------------------------------------------------------------

  /**
   * Registers a check on a node (under its ServiceID when set: that service must exist). A check
   * registered again keeps its status and output unless `keepStatus` is false (the catalog API
   * sets them as given).
   */
  registerCheck(check: CheckRecord, opts: { keepStatus?: boolean } = {}): Promise<number> {
    const node = check.Node;
    return this.run(`registering check ${quote(check.CheckID)}`, () => {
      const v = this.view;
      const n = v.nodeRecord(node);
      if (!n) throw nodeMissing(node);
      const compares: Compare[] = [sameNode(node, n)];
      const ops: TxnOp[] = [];
      let svc: ServiceRecord | undefined;
      if (check.ServiceID) {
        const s = v.serviceRecord(node, check.ServiceID);
        if (!s) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ServiceID ${quote(check.ServiceID)} does not exist`, { field: 'ServiceID' });
        svc = s.record;
        compares.push(unchanged(serviceKey(node, svc.ID), s));
        ops.push(putService(node, svc));
      }
      const prev = v.storedCheck(node, check.CheckID);
      compares.push(unchanged(checkKey(node, check.CheckID), prev));
      if (prev?.record.ServiceID && prev.record.ServiceID !== check.ServiceID) this.touchService(node, prev.record.ServiceID, compares, ops);
      const rec = prev && opts.keepStatus !== false ? { ...check, Status: prev.record.Status, Output: prev.record.Output } : check;
      ops.push(putCheck(underService(rec, svc)));
      return { compares, ops, result: 0 };
    }).then(() => this.view.revision);
  }

  /** Removes a check. Resolves false when it was not there. */
  deregisterCheck(node: string, checkId: string, opts: CasOption = {}): Promise<boolean> {
    return this.run(
      `deregistering check ${quote(checkId)}`,
      () => {
        const c = this.view.storedCheck(node, checkId);
        if (!c) return { compares: [], ops: [], result: false };
        if (opts.cas !== undefined && c.modifyIndex !== opts.cas) return { compares: [], ops: [], result: false };
        const compares = [unchanged(checkKey(node, checkId), c)];
        const ops = [delCheck(node, checkId)];
        if (c.record.ServiceID) this.touchService(node, c.record.ServiceID, compares, ops);
        return { compares, ops, result: true };
      },
      { catchUpFirst: opts.cas !== undefined },
    );
  }

  /** Rewrites a service's key as it is (see the rules at the top), when it exists. */
  private touchService(node: string, id: string, compares: Compare[], ops: TxnOp[]): void {
    const s = this.view.serviceRecord(node, id);
    if (!s) return;
    compares.push(unchanged(serviceKey(node, id), s));
    ops.push(putService(node, s.record));
  }

  /**
   * Sets a check's Status and Output and nothing else. Resolves `written: false` when the check
   * is gone or already says this. Health checkers call it on a status transition.
   */
  setCheckStatus(node: string, checkId: string, want: { status: HealthStatus; output: string }, opts: FenceOption = {}): Promise<{ written: boolean }> {
    return this.run<{ written: boolean }>(
      `updating check ${quote(checkId)}`,
      () => {
        const cur = this.view.storedCheck(node, checkId);
        if (!cur || (cur.record.Status === want.status && cur.record.Output === want.output)) return { compares: [], ops: [], result: { written: false } };
        return {
          compares: [unchanged(checkKey(node, checkId), cur)],
          ops: [putCheck({ ...cur.record, Status: want.status, Output: want.output })],
          result: { written: true },
        };
      },
      { fence: opts.fence },
    );
  }

  /**
   * Shows a status a health checker decided but could not write in every answer until it is
   * written (`undefined` stops showing it). See Catalog.setPending.
   */
  setPending(node: string, checkId: string, r: { status: HealthStatus; output: string } | undefined): void {
    this.view.setPending(node, checkId, r);
  }

  /**
   * Maintenance mode, as Consul's agent: enabling adds a critical check (`_node_maintenance`,
   * or `_service_maintenance:<id>`) that takes the node's or the service's instances out of
   * discovery; enabling again changes nothing; disabling removes it. An unknown service ID
   * answers 404 `No service registered with ID "<id>"`.
   */
  async setMaintenance(node: string, enable: boolean, reason: string, serviceId?: string): Promise<void> {
    let check: CheckRecord;
    if (serviceId === undefined) {
      check = {
        Node: node,
        CheckID: NODE_MAINTENANCE_CHECK,
        Name: 'Node Maintenance Mode',
        Status: 'critical',
        Notes: reason || DEFAULT_NODE_MAINT_REASON,
        Output: '',
        ServiceID: '',
        ServiceName: '',
        ServiceTags: [],
        Type: 'maintenance',
        Definition: {},
      };
    } else {
      if (!this.view.serviceRecord(node, serviceId))
        throw new BeaconError('BEACON_ERR_NOT_FOUND', `No service registered with ID ${quote(serviceId)}`, { field: 'id' });
      check = {
        Node: node,
        CheckID: SERVICE_MAINTENANCE_PREFIX + serviceId,
        Name: 'Service Maintenance Mode',
        Status: 'critical',
        Notes: reason || DEFAULT_SERVICE_MAINT_REASON,
        Output: '',
        ServiceID: serviceId,
        ServiceName: '',
        ServiceTags: [],
        Type: 'maintenance',
        Definition: {},
      };
    }
    const existing = this.view.storedCheck(node, check.CheckID);
    if (enable && !existing) await this.registerCheck(check);
    else if (!enable && existing) await this.deregisterCheck(node, check.CheckID);
  }

  // ---- nodes -------------------------------------------------------------------------------

  /**
   * One /v1/catalog/register: the node (unless skipped), a service, checks; one revision.
   * Checks are written with the status given. With `cas`, writes only if the service (or, with
   * no service, the node) has that modify index; resolves false when it has not.
   */
  catalogRegister(reg: CatalogRegistration, opts: CasOption = {}): Promise<boolean> {
    const node = reg.node.Node;
    return this.run(
      `registering node ${quote(node)}`,
      () => {
        const v = this.view;
        const compares: Compare[] = [];
        const ops: TxnOp[] = [];
        const existing = v.nodeRecord(node);
        const prevSvc = reg.service ? v.serviceRecord(node, reg.service.ID) : undefined;
        if (opts.cas !== undefined && (reg.service ? prevSvc : existing)?.modifyIndex !== (opts.cas || undefined)) {
          return { compares: [], ops: [], result: false };
        }
        const nodeRecord: NodeRecord = {
          ID: reg.node.ID || existing?.record.ID || randomUUID(),
          Node: node,
          Address: reg.node.Address,
          Datacenter: v.datacenter,
          TaggedAddresses: reg.node.TaggedAddresses,
          Meta: reg.node.Meta,
        };
        if (existing && (reg.skipNodeUpdate || JSON.stringify(existing.record) === JSON.stringify(nodeRecord))) {
          // The node stays as it is: guard only that it still exists, so registrations of many
          // services on one node do not all collide on rewriting the same node record.
          compares.push(sameNode(node, existing));
        } else {
          compares.push(unchanged(nodeKey(node), existing));
          ops.push(putNode(nodeRecord));
        }
        const svc = reg.service;
        if (svc) {
          compares.push(unchanged(serviceKey(node, svc.ID), prevSvc));
          ops.push(putService(node, svc));
        }
        const touched = new Set<string>();
        for (const [i, c] of reg.checks.entries()) {
          let owner: ServiceRecord | undefined;
          if (c.ServiceID) {
            owner = svc?.ID === c.ServiceID ? svc : v.serviceRecord(node, c.ServiceID)?.record;
            if (!owner)
              throw new BeaconError('BEACON_ERR_VALIDATION', `ServiceID "${c.ServiceID}" does not exist on node "${node}"`, {
                field: `${reg.checkFields?.[i] ?? `Checks[${i}]`}.ServiceID`,
              });
            if (owner !== svc && !touched.has(owner.ID)) {
              touched.add(owner.ID);
              this.touchService(node, owner.ID, compares, ops);
            }
          }
          compares.push(unchanged(checkKey(node, c.CheckID), v.storedCheck(node, c.CheckID)));
          ops.push(putCheck(underService({ ...c, Node: node }, owner)));
        }
        return { compares, ops, result: true };
      },
      { catchUpFirst: opts.cas !== undefined },
    );
  }

  /** Deregisters a node with all its services and checks. Resolves false when it was not there. */
  deregisterNode(node: string, opts: CasOption = {}): Promise<boolean> {
    return this.run(
      `deregistering node ${quote(node)}`,
      () => {
        const n = this.view.nodeRecord(node);
        if (!n) return { compares: [], ops: [], result: false };
        if (opts.cas !== undefined && n.modifyIndex !== opts.cas) return { compares: [], ops: [], result: false };
        return {
          compares: [sameNode(node, n)],
          ops: [
            { type: 'deletePrefix', prefix: nodeChecksPrefix(node) },
            { type: 'deletePrefix', prefix: nodeServicesPrefix(node) },
            { type: 'delete', key: nodeKey(node) },
          ],
          result: true,
        };
      },
      { catchUpFirst: opts.cas !== undefined },
    );
  }

  /**
   * Registers a node with the given services and node checks in one revision, as a server
   * registers itself: the node record, each service, each check with the status given.
   */
  registerNodeWith(node: NodeRecord, services: readonly ServiceRecord[], checks: readonly CheckRecord[]): Promise<number> {
    return this.run(`registering node ${quote(node.Node)}`, () => {
      const v = this.view;
      const compares: Compare[] = [unchanged(nodeKey(node.Node), v.nodeRecord(node.Node))];
      const ops: TxnOp[] = [putNode(node)];
      for (const s of services) {
        compares.push(unchanged(serviceKey(node.Node, s.ID), v.serviceRecord(node.Node, s.ID)));
        ops.push(putService(node.Node, s));
      }
      for (const c of checks) {
        compares.push(unchanged(checkKey(node.Node, c.CheckID), v.storedCheck(node.Node, c.CheckID)));
        const owner = c.ServiceID ? services.find((s) => s.ID === c.ServiceID) : undefined;
        ops.push(putCheck(underService({ ...c, Node: node.Node }, owner)));
      }
      return { compares, ops, result: 0 };
    }).then(() => this.view.revision);
  }
}
