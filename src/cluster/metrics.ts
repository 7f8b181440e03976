import client, { type Registry } from 'prom-client';
import type { ServerGroup } from './server-group.js';

/** The server group's Prometheus metrics (beacon_cluster_*). */
export interface ClusterMetrics {
  forwards: client.Counter<'result'>;
  ownershipChanges: client.Counter;
}

/**
 * Creates the metrics on `registry`. `group` is undefined on a single server, which then reports
 * itself as a group of one that it leads.
 */
export function createClusterMetrics(registry: Registry, group: () => ServerGroup | undefined): ClusterMetrics {
  const registers = [registry];
  new client.Gauge({
    name: 'beacon_cluster_members',
    help: 'Live servers in the server group, as this server sees them (1 on a single server).',
    registers,
    collect() {
      const g = group();
      this.set(g ? g.members().length : 1);
    },
  });
  new client.Gauge({
    name: 'beacon_cluster_leader',
    help: 'Whether this server is the group coordinator (1) or not (0).',
    registers,
    collect() {
      const g = group();
      this.set(!g || g.isLeader() ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'beacon_cluster_member',
    help: 'Whether this server holds its membership of the group now (0 while its session is lost: it runs no shared checks).',
    registers,
    collect() {
      const g = group();
      this.set(!g || g.self() ? 1 : 0);
    },
  });
  return {
    forwards: new client.Counter({
      name: 'beacon_cluster_ttl_forwards_total',
      help: 'TTL updates forwarded to the server that owns the check, by result (ok, refused, unreachable).',
      labelNames: ['result'] as const,
      registers,
    }),
    ownershipChanges: new client.Counter({
      name: 'beacon_cluster_ownership_changes_total',
      help: 'Times the group changed and this server took up or let go of checks.',
      registers,
    }),
  };
}
