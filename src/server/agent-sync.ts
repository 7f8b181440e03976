import { buildCatalogCheck, buildService, type Catalog, type CheckRecord, type NodeRecord, type ServiceRecord } from '../catalog/index.js';
import { decodeCheckDefinition, decodeServiceDefinition, type AgentNodeInfo, type AgentMessage } from '../api/http/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import { SERF_CHECK_ID } from '../health/index.js';
import { RepairPlanner, type ActualNode, type DesiredNode, type Repair } from './repair-plan.js';
import { serfHealthCheck } from './self-registration.js';

type SyncMessage = Extract<AgentMessage, { op: 'sync' }>;

const MAX_PASSES = 3;

/** Runs a decoder; a validation error's field is put under `prefix` (`services[0].service.Port`). */
function named<T>(prefix: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (!isBeaconError(err)) throw err;
    const field = err.field ? `${prefix}.${err.field}` : prefix;
    throw new BeaconError(err.code, `${field}: ${err.message}`, { field, cause: err });
  }
}

/** An agent's node as it means it to be, validated with the agent API's schema and the catalog's registration rules. */
export function desiredFromSync(node: NodeRecord, m: SyncMessage): { desired: DesiredNode; statuses: Map<string, CheckRecord> } {
  const services = new Map<string, { service: ServiceRecord }>();
  const checks = new Map<string, { check: CheckRecord }>();
  const statuses = new Map<string, CheckRecord>();
  const byService = new Map<string, Array<{ check: CheckRecord }>>();
  const addCheck = (raw: Record<string, unknown>, field: string, serviceId: string) => {
    const body = named(field, () => decodeCheckDefinition(raw));
    const c = { ...buildCatalogCheck({ ...body, ServiceID: serviceId }, node.Node, field), Definition: {} };
    if (c.CheckID === SERF_CHECK_ID) return;
    statuses.set(c.CheckID, c);
    const def = { check: { ...c, Status: 'critical' as const, Output: '' } };
    checks.set(c.CheckID, def);
    const list = byService.get(serviceId) ?? [];
    list.push(def);
    byService.set(serviceId, list);
  };
  m.services.forEach((s, i) => {
    const field = `services[${i}].service`;
    const svc = buildService(
      named(field, () => decodeServiceDefinition(s.service)),
      field,
    );
    services.set(svc.ID, { service: svc });
    s.checks.forEach((c, j) => addCheck(c, `services[${i}].checks[${j}]`, svc.ID));
  });
  m.checks.forEach((c, j) => addCheck(c, `checks[${j}]`, ''));
  const serf = { check: serfHealthCheck(node.Node) };
  checks.set(SERF_CHECK_ID, serf);
  const nodeChecks = [...(byService.get('') ?? []), serf];
  byService.set('', nodeChecks);
  return {
    desired: { node, services, checks, checksOf: (sid) => byService.get(sid) ?? [] },
    statuses,
  };
}

export function nodeRecordOf(info: AgentNodeInfo, datacenter: string): NodeRecord {
  return {
    ID: info.ID,
    Node: info.Node,
    Address: info.Address,
    Datacenter: datacenter,
    TaggedAddresses: info.TaggedAddresses,
    Meta: info.Meta,
  };
}

function actualOf(catalog: Catalog, name: string): ActualNode {
  const v = catalog.node(name).value;
  return {
    node: v?.node,
    services: v?.services ?? [],
    checks: v?.checks ?? [],
    service: (id) => catalog.serviceRecord(name, id),
    check: (id) => catalog.storedCheck(name, id),
    checksOf: (sid) => catalog.checksOf(name, sid),
  };
}

/**
 * Makes an agent's node in the catalog match what the agent sent (the agent is the source of
 * truth for its node): the repair plan of the server's own anti-entropy, then each check's
 * status as the agent decided it. Resolves with the number of writes.
 */
export async function applyAgentSync(
  catalog: Catalog,
  planner: RepairPlanner,
  desired: DesiredNode,
  statuses: ReadonlyMap<string, CheckRecord>,
  sessionUp: boolean,
): Promise<number> {
  const name = desired.node.Node;
  const cmd = catalog.commands;
  let writes = 0;
  // A check created by a repair starts with the status the agent decided, not critical: a
  // healthy instance the catalog lost comes back healthy, with no flap through critical.
  const withStatus = (c: CheckRecord): CheckRecord => {
    const s = statuses.get(c.CheckID);
    return s ? { ...c, Status: s.Status, Output: s.Output } : c;
  };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const plan: Repair[] = planner.plan(desired, actualOf(catalog, name), sessionUp);
    if (plan.length === 0) break;
    for (const r of plan) {
      writes++;
      switch (r.type) {
        case 'restore-node':
          await cmd.registerNodeWith(r.node, r.services, r.checks.map(withStatus));
          break;
        case 'update-node':
          await cmd.registerNodeWith(r.node, [], []);
          break;
        case 'register-service':
          await cmd.registerService(name, r.service, r.checks.map(withStatus), { replaceExistingChecks: true, node: desired.node });
          break;
        case 'register-check':
          await cmd.registerCheck({ ...withStatus(r.check), Node: name });
          break;
        case 'remove-service':
          await cmd.deregisterService(name, r.id);
          break;
        case 'remove-check':
          await cmd.deregisterCheck(name, r.id);
          break;
        case 'set-status':
          await cmd.setCheckStatus(name, r.checkId, { status: r.status, output: r.output });
          break;
      }
    }
  }
  for (const [id, want] of statuses) {
    const have = catalog.storedCheck(name, id)?.record;
    if (!have || (have.Status === want.Status && have.Output === want.Output)) continue;
    const { written } = await cmd.setCheckStatus(name, id, { status: want.Status, output: want.Output });
    if (written) writes++;
  }
  return writes;
}
