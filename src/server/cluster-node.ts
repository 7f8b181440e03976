import type { LocalNode, ServerTier, TierMember } from '../api/http/index.js';
import type { Catalog, CheckRecord, HealthStatus, NodeRecord, RegistrationPolicy, ServiceRecord, Topic } from '../catalog/index.js';
import type { ServerGroup, TtlForwarder } from '../cluster/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import type { TtlUpdater } from './local-node.js';

/**
 * The node that services registered through a server group's agent API live on. They belong to
 * the group, not to the server that took the request: their checks are shared out among the
 * live servers and move when one leaves, so no single server's death takes them down.
 */
export const CLUSTER_NODE = 'beacon-servers';

export interface ClusterNodeOptions {
  catalog: Catalog;
  health: TtlUpdater;
  group: ServerGroup;
  forwarder: TtlForwarder;
  datacenter: string;
  /** This server's advertise address: the address of a service registered here without one. */
  advertiseAddr: string;
  enableScriptChecks: boolean;
}

/**
 * "This node" of a server in a group (cluster mode): the group's shared node. Writes go straight
 * to catalog commands (the store is the shared source of truth; there is no local state to
 * repair from). A TTL update is applied here when this server owns the check, else forwarded to
 * the owner.
 */
export class ClusterNode implements LocalNode {
  readonly name = CLUSTER_NODE;
  readonly topic: Topic = `node:${CLUSTER_NODE}`;
  readonly policy: RegistrationPolicy;

  constructor(private readonly o: ClusterNodeOptions) {
    this.policy = { enableScriptChecks: o.enableScriptChecks };
  }

  private nodeRecord(): NodeRecord {
    const addr = this.o.advertiseAddr;
    return {
      ID: '',
      Node: CLUSTER_NODE,
      Address: addr,
      Datacenter: this.o.datacenter,
      TaggedAddresses: { lan: addr, lan_ipv4: addr, wan: addr, wan_ipv4: addr },
      Meta: { 'beacon-role': 'server-group' },
    };
  }

  async registerService(svc: ServiceRecord, checks: readonly CheckRecord[], opts: { replaceExistingChecks: boolean }): Promise<void> {
    // Consul fills a missing service address from its agent's node: here, the server that took it.
    const withAddr = svc.Address === '' ? { ...svc, Address: this.o.advertiseAddr } : svc;
    await this.o.catalog.commands.registerService(CLUSTER_NODE, withAddr, checks, {
      replaceExistingChecks: opts.replaceExistingChecks,
      node: this.nodeRecord(),
    });
  }

  /** A service as registered on the group's node now. */
  registeredService(id: string): ServiceRecord | undefined {
    return this.o.catalog.serviceRecord(CLUSTER_NODE, id)?.record;
  }

  async deregisterService(id: string): Promise<void> {
    await this.o.catalog.commands.deregisterService(CLUSTER_NODE, id);
  }

  async registerCheck(check: CheckRecord): Promise<void> {
    if (!this.o.catalog.nodeRecord(CLUSTER_NODE)) await this.o.catalog.commands.registerNodeWith(this.nodeRecord(), [], []);
    await this.o.catalog.commands.registerCheck({ ...check, Node: CLUSTER_NODE });
  }

  async deregisterCheck(checkId: string): Promise<void> {
    await this.o.catalog.commands.deregisterCheck(CLUSTER_NODE, checkId);
  }

  async updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void> {
    const { group } = this.o;
    const owner = group.ownerOf(CLUSTER_NODE, checkId);
    if (owner === undefined || owner.info.Node === group.name) {
      // Named the owner while holding no membership (its key seen before its join returned, or
      // no member at all): health keeps no timer for it yet, and its "no such TTL check" (500)
      // would make clients register again. Answer as a non-owner does: retryable.
      if (!group.owns(CLUSTER_NODE, checkId)) {
        throw new BeaconError(
          'BEACON_ERR_NOT_OWNER',
          `check ${JSON.stringify(checkId)}: this server is not a member of the server group at the moment; try again`,
        );
      }
      return this.o.health.updateTtl(CLUSTER_NODE, checkId, status, output);
    }
    try {
      await this.o.forwarder.send(owner.info.Http, { Node: CLUSTER_NODE, CheckID: checkId, Status: status, Output: output }, group.name);
    } catch (err) {
      // This server and the owner it picked are both cut off from the store: the whole group
      // is, and no server keeps TTL timers until the store is back, when every TTL check starts
      // afresh with its full TTL. The heartbeat's news (the instance is alive) holds as well
      // then; refusing it for the length of the outage would only fail every client.
      if (group.isCutOff && isBeaconError(err, 'BEACON_ERR_NOT_OWNER')) return;
      throw err;
    }
  }

  async setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void> {
    if (serviceId === undefined && !this.o.catalog.nodeRecord(CLUSTER_NODE)) {
      if (!enable) return;
      await this.o.catalog.commands.registerNodeWith(this.nodeRecord(), [], []);
    }
    await this.o.catalog.commands.setMaintenance(CLUSTER_NODE, enable, reason, serviceId);
  }

  services() {
    return this.o.catalog.node(CLUSTER_NODE).value?.services ?? [];
  }

  service(id: string) {
    return this.o.catalog.instance(CLUSTER_NODE, id);
  }

  checks() {
    return this.o.catalog.nodeChecks(CLUSTER_NODE).value;
  }

  check(checkId: string) {
    return this.o.catalog.check(CLUSTER_NODE, checkId);
  }

  index(): number {
    return this.o.catalog.nodeIndex(CLUSTER_NODE);
  }

  // ---- the server tier, for the status and members routes ------------------------------------

  /** The group as the HTTP routes see it. */
  tier(): ServerTier {
    const { group } = this.o;
    // Members come in join order, so the coordinator is the first.
    const members = (): TierMember[] => group.members().map((m) => ({ name: m.info.Node, addr: m.info.Addr, http: m.info.Http, version: m.info.Version }));
    return {
      members,
      leader: () => members()[0],
      index: () => group.index,
      forwardedTtl: (node, checkId, status, output) => this.forwardedTtl(node, checkId, status, output),
    };
  }

  private async forwardedTtl(node: string, checkId: string, status: HealthStatus, output: string): Promise<void> {
    const { group } = this.o;
    if (!group.owns(node, checkId)) {
      const owner = group.ownerOf(node, checkId);
      throw new BeaconError(
        'BEACON_ERR_NOT_OWNER',
        `check ${JSON.stringify(checkId)} of node ${JSON.stringify(node)} is run by ${owner ? JSON.stringify(owner.info.Node) : 'no live server'}, not by this server; try again`,
      );
    }
    await this.o.health.updateTtl(node, checkId, status, output);
  }
}
