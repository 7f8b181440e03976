import type { LocalNode } from '../api/http/index.js';
import type { Catalog, CheckRecord, HealthStatus, NodeRecord, RegistrationPolicy, ServiceRecord, Topic } from '../catalog/index.js';
import type { EntrySource } from './local-state.js';
import type { NodeOwner } from './node-owner.js';

/** The health subsystem's part of "this node": TTL heartbeats. */
export interface TtlUpdater {
  updateTtl(node: string, checkId: string, status: HealthStatus, output: string): Promise<void>;
}

/**
 * A server's own node as the agent API sees it. Reads come from the catalog. Writes, in the
 * server, go through a {@link NodeOwner}: the local state first (the source of truth that
 * anti-entropy repairs the catalog to), then the catalog. Without an owner (route tests) every
 * write is a catalog command on this node, and a registration while the node itself is missing
 * from the catalog (a catalog deregister removed it) puts the node back first.
 */
export class ServerNode implements LocalNode {
  readonly name: string;
  readonly topic: Topic;
  readonly policy: RegistrationPolicy;

  constructor(
    private readonly catalog: Catalog,
    private readonly health: TtlUpdater,
    /** This server's node record, as it registers itself. */
    private readonly self: () => NodeRecord,
    opts: { enableScriptChecks: boolean },
    private readonly owner?: NodeOwner,
  ) {
    this.name = self().Node;
    this.topic = `node:${this.name}`;
    this.policy = { enableScriptChecks: opts.enableScriptChecks };
  }

  async registerService(svc: ServiceRecord, checks: readonly CheckRecord[], opts: { replaceExistingChecks: boolean; source?: EntrySource }): Promise<void> {
    if (this.owner) return this.owner.registerService(svc, checks, { replaceExistingChecks: opts.replaceExistingChecks, source: opts.source ?? 'api' });
    await this.catalog.commands.registerService(this.name, svc, checks, { replaceExistingChecks: opts.replaceExistingChecks, node: this.self() });
  }

  async deregisterService(id: string): Promise<void> {
    await this.removeService(id);
  }

  /** Deregisters a service; resolves whether it was there (the health reaper's answer). */
  removeService(id: string): Promise<boolean> {
    if (this.owner) return this.owner.deregisterService(id);
    return this.catalog.commands.deregisterService(this.name, id);
  }

  async registerCheck(check: CheckRecord, source: EntrySource = 'api'): Promise<void> {
    if (this.owner) return this.owner.registerCheck(check, source);
    if (!check.ServiceID) await this.ensureNode();
    await this.catalog.commands.registerCheck({ ...check, Node: this.name });
  }

  /** Puts this server's node back when a catalog write removed it. */
  private async ensureNode(): Promise<void> {
    if (!this.catalog.nodeRecord(this.name)) await this.catalog.commands.registerNodeWith(this.self(), [], []);
  }

  async deregisterCheck(checkId: string): Promise<void> {
    if (this.owner) return this.owner.deregisterCheck(checkId);
    await this.catalog.commands.deregisterCheck(this.name, checkId);
  }

  updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void> {
    return this.health.updateTtl(this.name, checkId, status, output);
  }

  async setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void> {
    if (this.owner) return this.owner.setMaintenance(enable, reason, serviceId);
    if (serviceId === undefined && enable) await this.ensureNode();
    await this.catalog.commands.setMaintenance(this.name, enable, reason, serviceId);
  }

  /** A service as registered on this node (the local state's record), whether or not the catalog has it now. */
  registeredService(id: string): ServiceRecord | undefined {
    if (this.owner) return this.owner.state.services.get(id)?.service;
    return this.catalog.serviceRecord(this.name, id)?.record;
  }

  services() {
    return this.catalog.node(this.name).value?.services ?? [];
  }

  service(id: string) {
    return this.catalog.instance(this.name, id);
  }

  checks() {
    return this.catalog.nodeChecks(this.name).value;
  }

  check(checkId: string) {
    return this.catalog.check(this.name, checkId);
  }

  index(): number {
    return this.catalog.nodeIndex(this.name);
  }
}
