// State from the server's Consul-compatible routes, and the shapes the views use.

export type Status = 'passing' | 'warning' | 'critical' | 'maintenance';

export interface Check {
  Node: string;
  CheckID: string;
  Name: string;
  Status: Status;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Type: string;
  ModifyIndex: number;
}

export interface NodeInfo {
  Node: string;
  Address: string;
  Meta: Record<string, string>;
  ModifyIndex: number;
}

export interface Instance {
  Node: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  Weights: { Passing: number; Warning: number };
}

export interface BeaconEvent {
  revision: number;
  time: number;
  kind: string;
  node?: string;
  service?: string;
  instance?: string;
  check?: string;
  from?: string;
  to?: string;
  output?: string;
  flapping?: boolean;
  reason?: string;
  after?: number;
}

export interface Snapshot {
  nodes: NodeInfo[];
  instances: Instance[];
  checks: Check[];
  /** X-Consul-Index of the checks read: the events stream resumes after it. */
  index: number;
}

/** Thrown when the server cannot be reached (the views show the lost-contact banner). */
export class Unreachable extends Error {}

async function get<T>(path: string): Promise<{ body: T; index: number }> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new Unreachable(String(err));
  }
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return { body: (await res.json()) as T, index: Number(res.headers.get('x-consul-index') ?? 0) };
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** Everything the services and nodes views need: nodes, every instance (by node), every check. */
export async function loadSnapshot(): Promise<Snapshot> {
  const [nodes, checks] = await Promise.all([get<NodeInfo[]>('/v1/catalog/nodes'), get<Check[]>('/v1/health/state/any')]);
  const perNode = await pool(nodes.body, 6, async (n) => {
    const r = await get<{ Services: Record<string, Omit<Instance, 'Node'>> } | null>(`/v1/catalog/node/${encodeURIComponent(n.Node)}`);
    return Object.values(r.body?.Services ?? {}).map((s) => ({ ...s, Node: n.Node }));
  });
  return { nodes: nodes.body, instances: perNode.flat(), checks: checks.body, index: checks.index };
}

export interface HealthEntry {
  Node: NodeInfo;
  Service: Instance;
  Checks: Check[];
}

export const loadService = async (name: string) => (await get<HealthEntry[]>(`/v1/health/service/${encodeURIComponent(name)}`)).body;

/** What the history holds for a service or node (newest last). */
export async function loadEvents(filter: { service?: string; node?: string }): Promise<BeaconEvent[]> {
  const q = new URLSearchParams({ follow: 'false', ...filter });
  let res: Response;
  try {
    res = await fetch(`/v1/beacon/events?${q.toString()}`);
  } catch (err) {
    throw new Unreachable(String(err));
  }
  if (!res.ok) throw new Error(`events: HTTP ${res.status}`);
  return (await res.text())
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as BeaconEvent);
}

const RANK: Record<string, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

/** The worst of some statuses (maintenance > critical > warning > passing); none is passing. */
export function worst(statuses: Iterable<string>): Status {
  let w: Status = 'passing';
  for (const s of statuses) if ((RANK[s] ?? 0) > RANK[w]) w = s as Status;
  return w;
}

export interface ServiceSummary {
  name: string;
  tags: string[];
  instances: number;
  passing: number;
  warning: number;
  critical: number;
  /** Lower-cased names, tags and metadata of its instances: what search matches. */
  haystack: string;
}

/** Each instance's status (node checks and its own), and each service's counts. */
export function summarize(s: Snapshot): { services: ServiceSummary[]; statusOf: Map<string, Status> } {
  const nodeChecks = new Map<string, string[]>();
  const ownChecks = new Map<string, string[]>();
  for (const c of s.checks) {
    const m = c.ServiceID ? ownChecks : nodeChecks;
    const k = c.ServiceID ? `${c.Node}\u0000${c.ServiceID}` : c.Node;
    const list = m.get(k);
    if (list) list.push(c.Status);
    else m.set(k, [c.Status]);
  }
  const statusOf = new Map<string, Status>();
  const by = new Map<string, ServiceSummary & { tagSet: Set<string> }>();
  for (const i of s.instances) {
    const k = `${i.Node}\u0000${i.ID}`;
    const st = worst([...(nodeChecks.get(i.Node) ?? []), ...(ownChecks.get(k) ?? [])]);
    statusOf.set(k, st);
    let sum = by.get(i.Service);
    if (!sum)
      by.set(
        i.Service,
        (sum = { name: i.Service, tags: [], tagSet: new Set(), instances: 0, passing: 0, warning: 0, critical: 0, haystack: i.Service.toLowerCase() }),
      );
    sum.instances++;
    if (st === 'passing') sum.passing++;
    else if (st === 'warning') sum.warning++;
    else sum.critical++;
    for (const t of i.Tags ?? []) {
      if (!sum.tagSet.has(t)) {
        sum.tagSet.add(t);
        sum.haystack += `\n${t.toLowerCase()}`;
      }
    }
    for (const [mk, mv] of Object.entries(i.Meta ?? {})) sum.haystack += `\n${mk.toLowerCase()}=${String(mv).toLowerCase()}`;
  }
  const services = [...by.values()].map(({ tagSet, ...rest }) => ({ ...rest, tags: [...tagSet] }));
  return { services, statusOf };
}

export const fmtTime = (ms: number): string => new Date(ms).toLocaleString(undefined, { hour12: false });

/** One key per event, to drop the same event met twice (history read while the stream runs). */
export const eventKey = (e: BeaconEvent): string => `${e.revision}|${e.kind}|${e.node ?? ''}|${e.instance ?? ''}|${e.check ?? ''}`;

/** `list` with `more` appended, without events it already holds. */
export function mergeEvents(list: BeaconEvent[], more: BeaconEvent[], keep = Infinity): BeaconEvent[] {
  const seen = new Set(list.map(eventKey));
  const out = [...list];
  for (const e of more) if (!seen.has(eventKey(e))) (seen.add(eventKey(e)), out.push(e));
  out.sort((a, b) => a.revision - b.revision);
  return out.length > keep ? out.slice(out.length - keep) : out;
}
