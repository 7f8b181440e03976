import type { CheckRecord, HealthStatus, Indexed, InstanceView, RegistrationPolicy, ServiceRecord, Topic } from '../../catalog/index.js';

/**
 * "This node": what `/v1/agent/*` acts on. A server implements it over the catalog (its own
 * node's records); the per-host agent implements it over the services it owns. Routes build
 * records with the catalog's registration rules and hand them here; nothing else in the HTTP
 * layer knows which node it is, or whether the node is a server.
 */
export interface LocalNode {
  /** The node's name. */
  readonly name: string;
  /** What registrations through the agent API may do (script checks). */
  readonly policy: RegistrationPolicy;

  /** Registers a service with its checks; `replaceExistingChecks` removes the ones not listed. */
  registerService(svc: ServiceRecord, checks: readonly CheckRecord[], opts: { replaceExistingChecks: boolean }): Promise<void>;
  /** Deregisters a service and its checks; an unknown ID changes nothing. */
  deregisterService(id: string): Promise<void>;
  /** Registers a check (under its ServiceID when set: 404 when that service is not on this node). */
  registerCheck(check: CheckRecord): Promise<void>;
  /** Removes a check; an unknown ID changes nothing. */
  deregisterCheck(checkId: string): Promise<void>;
  /** TTL update: resets the check's timer; BEACON_ERR_CHECK_NOT_TTL for an unknown or non-TTL check. */
  updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void>;
  /** Maintenance on or off for a service (serviceId) or the whole node. */
  setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void>;

  /** The node's services. */
  services(): readonly Indexed<ServiceRecord>[];
  /** One service with its checks and aggregated status. */
  service(id: string): InstanceView | undefined;
  /** The node's checks (node checks and service checks). */
  checks(): readonly Indexed<CheckRecord>[];
  /** The check `checkId`, if the node has it. */
  check(checkId: string): Indexed<CheckRecord> | undefined;
  /** Index of the node's data, for blocking reads, and the topic that wakes them. */
  index(): number;
  readonly topic: Topic;
}
