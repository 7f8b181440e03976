import { maintenanceCheck, NODE_MAINTENANCE_CHECK, SERVICE_MAINTENANCE_PREFIX, type Catalog, type CheckRecord, type ServiceRecord } from '../catalog/index.js';
import { BeaconError } from '../errors/index.js';
import type { LocalStateFile } from './local-state-file.js';
import type { EntrySource, LocalOp, LocalState } from './local-state.js';
import type { SharedLock } from './shared-lock.js';

const quote = (s: string): string => JSON.stringify(s);

/**
 * The writes of the agent API (and the config file) on this server's node, with the local state
 * as the source of truth: each one is checked against the local state and applied to it first,
 * then written to the local state file and to the catalog (a catalog command) side by side, and
 * answered once both are durable: an acknowledged write is in both, so a restart finds it in the
 * file whatever happened to the catalog. (One that crashed unacknowledged may be in either; the
 * next start's anti-entropy makes the catalog match the file.) If the catalog write fails, the
 * local state keeps the change and anti-entropy writes it later, as Consul's agent does. Every
 * write holds the shared lock, so an anti-entropy pass (exclusive) never sees a change that is
 * in the local state but on its way to the catalog.
 */
export class NodeOwner {
  constructor(
    private readonly catalog: Catalog,
    readonly state: LocalState,
    private readonly file: LocalStateFile | undefined,
    readonly lock: SharedLock,
  ) {}

  private get name(): string {
    return this.state.name;
  }

  /**
   * Applies ops to the local state, then persists them and runs the catalog write side by side;
   * settles once both have, with the catalog write's result or the first failure.
   */
  private async change<T>(ops: LocalOp[], write: () => Promise<T>): Promise<T> {
    this.state.apply(ops);
    const [saved, written] = await Promise.allSettled([this.file?.append(ops), write()]);
    if (saved.status === 'rejected') throw saved.reason;
    if (written.status === 'rejected') throw written.reason;
    return written.value;
  }

  registerService(svc: ServiceRecord, checks: readonly CheckRecord[], opts: { replaceExistingChecks: boolean; source: EntrySource }): Promise<void> {
    return this.lock.withShared(() => this.change(this.state.planService(svc, checks, opts), () => this.writeService(svc.ID, checks)));
  }

  /** Resolves whether the service was there (in the local state or the catalog). */
  deregisterService(id: string): Promise<boolean> {
    return this.lock.withShared(async () => {
      const ops = this.state.planServiceRemoval(id);
      // The catalog may hold it even when the local state does not (a catalog registration).
      const removed = await this.change(ops, () => this.catalog.commands.deregisterService(this.name, id));
      return removed || ops.length > 0;
    });
  }

  registerCheck(check: CheckRecord, source: EntrySource): Promise<void> {
    return this.lock.withShared(async () => {
      if (check.ServiceID && !this.state.services.has(check.ServiceID)) {
        throw new BeaconError('BEACON_ERR_NOT_FOUND', `ServiceID ${quote(check.ServiceID)} does not exist`, { field: 'ServiceID' });
      }
      await this.change(this.state.planCheck(check, source), () => this.writeCheck(check));
    });
  }

  deregisterCheck(checkId: string): Promise<void> {
    return this.lock.withShared(async () => {
      await this.change(this.state.planCheckRemoval(checkId), () => this.catalog.commands.deregisterCheck(this.name, checkId));
    });
  }

  /**
   * Maintenance as Consul's agent: enabling adds a critical check (`_node_maintenance` or
   * `_service_maintenance:<id>`), enabling again changes nothing, disabling removes it.
   */
  setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void> {
    return this.lock.withShared(async () => {
      const svc = serviceId === undefined ? undefined : this.state.services.get(serviceId)?.service;
      if (serviceId !== undefined && !svc) throw new BeaconError('BEACON_ERR_NOT_FOUND', `No service registered with ID ${quote(serviceId)}`, { field: 'id' });
      const checkId = svc ? SERVICE_MAINTENANCE_PREFIX + svc.ID : NODE_MAINTENANCE_CHECK;
      if (!enable) {
        await this.change(this.state.planCheckRemoval(checkId), () => this.catalog.commands.deregisterCheck(this.name, checkId));
        return;
      }
      if (this.state.checks.has(checkId)) return;
      const check = maintenanceCheck(this.name, reason, svc);
      await this.change(this.state.planCheck(check, 'api'), () => this.writeCheck(check));
    });
  }

  /**
   * Drops checks filed under a service the local state no longer has (an API check on a service
   * the config file defined before this start, and defines no more). Anti-entropy removes them
   * from the catalog with their service.
   */
  pruneOrphanChecks(): Promise<void> {
    return this.lock.withShared(async () => {
      const ops: LocalOp[] = [];
      for (const [id, c] of this.state.checks) if (c.check.ServiceID && !this.state.services.has(c.check.ServiceID)) ops.push({ op: 'check-', id });
      await this.change(ops, () => Promise.resolve());
    });
  }

  /**
   * Writes a service of the local state with all its checks. Checks named in `given` start with
   * the status they were registered with; the others with critical; a check the catalog already
   * has keeps its status (the command sees to that). Checks the local state does not file under
   * the service are removed. A missing node is registered first.
   */
  private async writeService(id: string, given: readonly CheckRecord[]): Promise<void> {
    const svc = this.state.services.get(id)?.service;
    if (!svc) return;
    const checks = this.state.checksOf(id).map((e) => given.find((c) => c.CheckID === e.check.CheckID) ?? e.check);
    await this.catalog.commands.registerService(this.name, svc, checks, { replaceExistingChecks: true, node: this.state.node });
  }

  private async writeCheck(check: CheckRecord): Promise<void> {
    if (check.ServiceID) return this.writeService(check.ServiceID, [check]);
    if (!this.catalog.nodeRecord(this.name)) await this.catalog.commands.registerNodeWith(this.state.node, [], []);
    await this.catalog.commands.registerCheck({ ...check, Node: this.name });
  }
}
