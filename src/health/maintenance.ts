import { NODE_MAINTENANCE_CHECK, SERVICE_MAINTENANCE_PREFIX, type Catalog, type CheckRecord } from '../catalog/index.js';
import { BeaconError } from '../errors/index.js';

export const DEFAULT_NODE_MAINT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';
export const DEFAULT_SERVICE_MAINT_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

/** Go's %q for the ASCII names Consul quotes in messages. */
const quote = (s: string): string => JSON.stringify(s);

/**
 * Maintenance mode, as Consul's agent: enabling adds a critical check (`_node_maintenance`, or
 * `_service_maintenance:<id>`) that takes the node's or the service's instances out of
 * discovery; enabling again changes nothing; disabling removes it. An unknown service ID
 * answers 404 `No service registered with ID "<id>"`.
 */
export async function setMaintenance(catalog: Catalog, node: string, enable: boolean, reason: string, serviceId?: string): Promise<void> {
  if (serviceId === undefined) {
    const existing = catalog.check(node, NODE_MAINTENANCE_CHECK);
    if (enable && !existing) {
      const check: CheckRecord = {
        Node: node, CheckID: NODE_MAINTENANCE_CHECK, Name: 'Node Maintenance Mode', Status: 'critical',
        Notes: reason || DEFAULT_NODE_MAINT_REASON, Output: '', ServiceID: '', ServiceName: '', ServiceTags: [],
        Type: 'maintenance', Definition: {},
      };
      await catalog.write([catalog.putCheckOp(check)]);
    } else if (!enable && existing) {
      await catalog.write([catalog.deleteCheckOp(node, NODE_MAINTENANCE_CHECK)]);
    }
    return;
  }
  const inst = catalog.instance(node, serviceId);
  if (!inst) throw new BeaconError('BEACON_ERR_NOT_FOUND', `No service registered with ID ${quote(serviceId)}`, { field: 'id' });
  const checkId = SERVICE_MAINTENANCE_PREFIX + serviceId;
  const existing = catalog.check(node, checkId);
  if (enable && !existing) {
    const svc = inst.service.record;
    const check: CheckRecord = {
      Node: node, CheckID: checkId, Name: 'Service Maintenance Mode', Status: 'critical',
      Notes: reason || DEFAULT_SERVICE_MAINT_REASON, Output: '', ServiceID: svc.ID, ServiceName: svc.Service,
      ServiceTags: svc.Tags, Type: 'maintenance', Definition: {},
    };
    await catalog.write([catalog.putCheckOp(check)]);
  } else if (!enable && existing) {
    await catalog.write([catalog.deleteCheckOp(node, checkId)]);
  }
}
