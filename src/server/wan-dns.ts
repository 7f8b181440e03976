import type { Catalog, InstanceView, PreparedQueries, PreparedQuery } from '../catalog/index.js';
import { executeQuery, type Federation, type HealthEntryLike } from '../cluster/index.js';
import { parseDuration, parseHostPort, type HostPort } from '../config/index.js';
import type { DnsWan, QueryAnswer } from '../dns/index.js';

/** A prepared query run for DNS may take this long in all (a DNS client gives up after about 5 s). */
const DNS_QUERY_BUDGET_MS = 4000;
/** Each failover datacenter asked for DNS gets this long. */
const DNS_REMOTE_MS = 2000;

function entryOf(i: InstanceView): HealthEntryLike & { Service: { Weights?: { Passing: number; Warning: number } } } {
  const n = i.node.record;
  const s = i.service.record;
  return {
    Node: { Node: n.Node, Address: n.Address, Meta: n.Meta },
    Service: { ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address, Port: s.Port, Meta: s.Meta, Weights: s.Weights },
    Checks: i.checks.map((c) => ({ CheckID: c.record.CheckID, Status: c.record.Status })),
  };
}

function resolveQuery(queries: PreparedQueries, idOrName: string): PreparedQuery | undefined {
  const exact = queries.resolve(idOrName);
  if (exact) return exact;
  // DNS names arrive lower-cased.
  return queries.list().find((q) => q.Name !== '' && q.Name.toLowerCase() === idOrName);
}

/** DNS's view of the WAN: other datacenters' DNS servers (learned over the exchange) and prepared queries. */
export function dnsWan(federation: Federation, catalog: Catalog, queries: PreparedQueries, datacenter: string): DnsWan {
  return {
    dnsServers(dc: string): HostPort[] | undefined {
      const name = federation.table.remoteDatacenters().find((d) => d.toLowerCase() === dc);
      if (name === undefined) return undefined;
      if (!federation.table.reachable(name)) return [];
      const out: HostPort[] = [];
      for (const s of federation.table.serversToTry(name)) {
        if (federation.table.isFailed(name, s.Node)) continue;
        const hp = s.Dns ? parseHostPort(s.Dns) : undefined;
        if (hp) out.push(hp);
      }
      return out;
    },
    async preparedQuery(idOrName: string): Promise<QueryAnswer | undefined> {
      const q = resolveQuery(queries, idOrName);
      if (!q) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`prepared query ${idOrName} took longer than ${DNS_QUERY_BUDGET_MS} ms`)), DNS_QUERY_BUDGET_MS);
      });
      try {
        const r = await Promise.race([
          executeQuery(q, {
            local: datacenter,
            localEntries: (service) => catalog.instances(service).value.map(entryOf),
            datacenters: () => federation.datacenters(),
            known: (dc) => federation.table.has(dc),
            remoteEntries: (dc, service) => federation.remoteHealth<HealthEntryLike>(dc, service, DNS_REMOTE_MS),
          }),
          budget,
        ]);
        const ttlMs = q.DNS.TTL ? parseDuration(q.DNS.TTL) : undefined;
        return { entries: r.Nodes, datacenter: r.Datacenter, ttl: ttlMs === undefined ? undefined : Math.round(ttlMs / 1000) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
