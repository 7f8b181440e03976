import client, { type Registry } from 'prom-client';
import type { AgentOwner } from './owner.js';
import type { Upstream } from './upstream.js';
import type { WatchCache } from './watch-cache.js';

/** The agent's metrics (`beacon_agent_*`), read when scraped. */
export function registerAgentMetrics(registry: Registry, d: { cache: WatchCache; upstream: Upstream; owner: AgentOwner }): void {
  const counter = (name: string, help: string, read: () => number) => {
    let last = 0;
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        this.inc(v - last);
        last = v;
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  counter('beacon_agent_cache_hits_total', 'Reads answered from the watch cache with no wait on the servers.', () => d.cache.hits);
  counter('beacon_agent_cache_misses_total', 'Reads that waited for their first answer from the servers.', () => d.cache.misses);
  gauge('beacon_agent_cache_entries', 'Reads the agent watches (one upstream watch each).', () => d.cache.size);
  gauge('beacon_agent_server_connected', '1 while the agent holds its stream to a server, else 0.', () => (d.upstream.connected ? 1 : 0));
  gauge('beacon_agent_server_last_contact_seconds', 'Seconds since a server last sent anything.', () =>
    d.upstream.lastContact ? (Date.now() - d.upstream.lastContact) / 1000 : 0,
  );
  counter('beacon_agent_syncs_total', 'Full anti-entropy syncs a server acknowledged.', () => d.owner.syncs);
  counter('beacon_agent_sync_failures_total', 'Anti-entropy syncs that failed (no server, or refused).', () => d.owner.syncFailures);
  counter('beacon_agent_status_changes_total', 'Check status transitions decided on this agent.', () => d.owner.statusWrites);
  gauge('beacon_agent_services', 'Services this agent owns.', () => d.owner.state.services.size);
  gauge('beacon_agent_checks', 'Checks this agent owns.', () => d.owner.state.checks.size);
}
