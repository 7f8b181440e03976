import type { InstanceStatus, ServiceInstance, ServiceWeights } from './types.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function weightsOf(v: unknown): ServiceWeights {
  const w = isObject(v) ? v : {};
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 1);
  return { passing: num(w.Passing), warning: num(w.Warning) };
}

/**
 * The weight an instance gets in weighted balancing: `Weights.Passing` while passing,
 * `Weights.Warning` while in warning (Consul's rule, also used for DNS SRV weights). Missing or
 * invalid weights count as 1.
 *
 * @example
 * instanceWeight({ passing: 10, warning: 1 }, 'warning'); // 1
 */
export function instanceWeight(weights: Partial<ServiceWeights> | undefined, status: InstanceStatus): number {
  const w = status === 'warning' ? weights?.warning : weights?.passing;
  return typeof w === 'number' && Number.isFinite(w) && w >= 0 ? w : 1;
}

/** Aggregated status of a list of Consul checks: critical (or maintenance) > warning > passing. */
export function aggregateStatus(checks: unknown): InstanceStatus | 'critical' {
  let status: InstanceStatus | 'critical' = 'passing';
  if (!Array.isArray(checks)) return status;
  for (const c of checks) {
    const s = isObject(c) ? c.Status : undefined;
    if (s === 'critical' || s === 'maintenance') return 'critical';
    if (s === 'warning') status = 'warning';
  }
  return status;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/**
 * Turns a `GET /v1/health/service/:name` answer into healthy instances: critical ones dropped,
 * address falling back to the node's, weight chosen by status, ids made unique (an id seen on
 * two nodes becomes `id@node`), sorted by id. Malformed entries are skipped.
 */
export function parseHealthEntries(body: unknown, fallbackDc?: string): ServiceInstance[] {
  if (!Array.isArray(body)) return [];
  const out: ServiceInstance[] = [];
  for (const entry of body) {
    if (!isObject(entry) || !isObject(entry.Service)) continue;
    const svc = entry.Service;
    const node = isObject(entry.Node) ? entry.Node : {};
    const status = aggregateStatus(entry.Checks);
    if (status === 'critical') continue;
    const port = svc.Port;
    const address = str(svc.Address) || str(node.Address);
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || address === '') continue;
    const weights = weightsOf(svc.Weights);
    const dc = str(node.Datacenter) || str(svc.Datacenter) || fallbackDc;
    out.push({
      id: str(svc.ID) || str(svc.Service),
      service: str(svc.Service),
      address,
      port,
      tags: Array.isArray(svc.Tags) ? svc.Tags.filter((t): t is string => typeof t === 'string') : [],
      meta: stringMap(svc.Meta),
      node: str(node.Node),
      datacenter: dc || undefined,
      status,
      weights,
      weight: instanceWeight(weights, status),
    });
  }
  return uniqueSorted(out);
}

/** Makes ids unique (`id@node` for repeats) and sorts by id. */
export function uniqueSorted(list: ServiceInstance[]): ServiceInstance[] {
  const counts = new Map<string, number>();
  for (const i of list) counts.set(i.id, (counts.get(i.id) ?? 0) + 1);
  const seen = new Set<string>();
  const out = list.map((i) => {
    let id = counts.get(i.id)! > 1 ? `${i.id}@${i.node || `${i.address}:${i.port}`}` : i.id;
    while (seen.has(id)) id += "'";
    seen.add(id);
    return id === i.id ? i : { ...i, id };
  });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
