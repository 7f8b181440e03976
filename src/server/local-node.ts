import type { LocalNode } from '../api/http/index.js';
import type { Catalog, CheckRecord, HealthStatus, RegistrationPolicy, ServiceRecord, Topic } from '../catalog/index.js';
import type { EntrySource } from './local-state.js';
import type { NodeOwner } from './node-owner.js';

/** The health subsystem's part of "this node": TTL heartbeats. */
export interface TtlUpdater {
  updateTtl(node: string, checkId: string, status: HealthStatus, output: string): Promise<void>;
}

/**
 * A server's own node as the agent API sees it. Reads come from the catalog. Writes go through
 * a {@link NodeOwner}: the local state first (the source of truth that anti-entropy repairs the
 * catalog to), then the catalog.
 */
export class ServerNode implements LocalNode {
  readonly name: string;
  readonly topic: Topic;
  readonly policy: RegistrationPolicy;

  constructor(
    private readonly catalog: Catalog,
    private readonly health: TtlUpdater,
    opts: { enableScriptChecks: boolean },
    private readonly owner: NodeOwner,
  ) {
    this.name = owner.state.name;
    this.topic = `node:${this.name}`;
    this.policy = { enableScriptChecks: opts.enableScriptChecks };
  }

  async registerService(svc: ServiceRecord, checks: readonly CheckRecord[], opts: { replaceExistingChecks: boolean; source?: EntrySource }): Promise<void> {
    return this.owner.registerService(svc, checks, { replaceExistingChecks: opts.replaceExistingChecks, source: opts.source ?? 'api' });
  }

  async deregisterService(id: string): Promise<void> {
    await this.removeService(id);
  }

  /** Deregisters a service; resolves whether it was there (the health reaper's answer). */
  removeService(id: string): Promise<boolean> {
    return this.owner.deregisterService(id);
  }

  registerCheck(check: CheckRecord, source: EntrySource = 'api'): Promise<void> {
    return this.owner.registerCheck(check, source);
  }

  deregisterCheck(checkId: string): Promise<void> {
    return this.owner.deregisterCheck(checkId);
  }

  updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void> {
    return this.health.updateTtl(this.name, checkId, status, output);
  }

  setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void> {
    return this.owner.setMaintenance(enable, reason, serviceId);
  }

  /** A service as registered on this node (the local state's record), whether or not the catalog has it now. */
  registeredService(id: string): ServiceRecord | undefined {
    return this.owner.state.services.get(id)?.service;
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
