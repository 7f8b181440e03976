/**
 * Running a prepared query: the local datacenter's healthy instances of the query's service, and
 * when there is none, the next datacenter's (its nearest N by round-trip time, then its listed
 * datacenters), asked over the WAN. Works on health entries in the shape of
 * /v1/health/service (what a remote datacenter answers), so a local and a remote answer are
 * filtered alike.
 */
import type { PreparedQuery } from '../../catalog/index.js';

/** The parts of a /v1/health/service entry a prepared query reads. */
export interface HealthEntryLike {
  Node: { Node: string; Address: string; Meta?: Record<string, string> | null };
  Service: { ID: string; Service: string; Tags: readonly string[] | null; Address: string; Port: number; Meta?: Record<string, string> | null };
  Checks: readonly { CheckID: string; Status: string }[];
}

export type QueryService = PreparedQuery['Service'];

/**
 * Keeps the entries the query selects: none of their checks critical (with OnlyPassing, none
 * warning either), IgnoreCheckIDs skipped; NodeMeta and ServiceMeta all equal; every tag
 * present and no `!tag` present (case-insensitive).
 */
export function filterEntries<T extends HealthEntryLike>(entries: readonly T[], q: QueryService): T[] {
  const ignore = new Set(q.IgnoreCheckIDs);
  const want = q.Tags.filter((t) => !t.startsWith('!')).map((t) => t.toLowerCase());
  const not = q.Tags.filter((t) => t.startsWith('!')).map((t) => t.slice(1).toLowerCase());
  return entries.filter((e) => {
    for (const c of e.Checks) {
      if (ignore.has(c.CheckID)) continue;
      if (c.Status === 'critical' || (q.OnlyPassing && c.Status !== 'passing')) return false;
    }
    for (const [k, v] of Object.entries(q.NodeMeta)) if (e.Node.Meta?.[k] !== v) return false;
    for (const [k, v] of Object.entries(q.ServiceMeta)) if (e.Service.Meta?.[k] !== v) return false;
    const tags = (e.Service.Tags ?? []).map((t) => t.toLowerCase());
    return want.every((t) => tags.includes(t)) && !not.some((t) => tags.includes(t));
  });
}

/**
 * The datacenters to fail over to, in order: the `NearestN` nearest other datacenters
 * (`nearest` is every datacenter, nearest first, the local one included), then `Datacenters`
 * in the order given; the local one, unknown ones and repeats left out.
 */
export function failoverOrder(failover: QueryService['Failover'], nearest: readonly string[], local: string, known: (dc: string) => boolean): string[] {
  const out: string[] = [];
  for (const dc of nearest) {
    if (out.length >= failover.NearestN) break;
    if (dc !== local) out.push(dc);
  }
  for (const dc of failover.Datacenters) if (dc !== local && known(dc) && !out.includes(dc)) out.push(dc);
  return out;
}

export interface QueryRunner<T extends HealthEntryLike> {
  local: string;
  /** The local datacenter's instances of a service (every health state). */
  localEntries(service: string): T[];
  /** Every datacenter, nearest first. */
  datacenters(): string[];
  known(dc: string): boolean;
  /** A remote datacenter's instances of a service; rejects when it cannot be asked. */
  remoteEntries(dc: string, service: string): Promise<T[]>;
}

export interface QueryResult<T> {
  Nodes: T[];
  /** The datacenter that answered. */
  Datacenter: string;
  /** How many other datacenters were tried. */
  Failovers: number;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/**
 * Runs `q`: local instances first; only when none is selected, each failover datacenter in
 * turn until one has some (a datacenter that cannot be asked is skipped). Nodes are shuffled,
 * then cut to `limit` (0: all).
 *
 * @example
 * const r = await executeQuery(query, runner, 0); // { Nodes: [...], Datacenter: 'dc2', Failovers: 1 }
 */
export async function executeQuery<T extends HealthEntryLike>(q: PreparedQuery, run: QueryRunner<T>, limit = 0): Promise<QueryResult<T>> {
  const cut = (xs: T[]) => (limit > 0 ? shuffle(xs).slice(0, limit) : shuffle(xs));
  const local = filterEntries(run.localEntries(q.Service.Service), q.Service);
  if (local.length > 0) return { Nodes: cut(local), Datacenter: run.local, Failovers: 0 };
  let failovers = 0;
  let answered = run.local;
  for (const dc of failoverOrder(q.Service.Failover, run.datacenters(), run.local, (d) => run.known(d))) {
    failovers++;
    let entries: T[];
    try {
      entries = await run.remoteEntries(dc, q.Service.Service);
    } catch {
      continue;
    }
    answered = dc;
    const picked = filterEntries(entries, q.Service);
    if (picked.length > 0) return { Nodes: cut(picked), Datacenter: dc, Failovers: failovers };
  }
  return { Nodes: [], Datacenter: answered, Failovers: failovers };
}
