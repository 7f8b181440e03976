import client, { type Registry } from 'prom-client';

/** The health subsystem's Prometheus metrics (beacon_health_*). */
export interface HealthMetrics {
  runs: client.Counter<'type' | 'status'>;
  runDuration: client.Histogram<'type'>;
  writes: client.Counter<'kind'>;
  ttlUpdates: client.Counter<'changed'>;
  ttlExpired: client.Counter;
  reaped: client.Counter;
  sessionUp: client.Gauge;
}

/** Creates the metrics on `registry` (or unregistered when there is none); `checks` reports running checks by type. */
export function createHealthMetrics(registry: Registry | undefined, checks: () => Map<string, number>): HealthMetrics {
  const registers = registry ? [registry] : [];
  new client.Gauge({
    name: 'beacon_health_checks',
    help: 'Checks this server runs, by type (http, tcp, grpc, script, ttl).',
    labelNames: ['type'] as const,
    registers,
    collect() {
      this.reset();
      for (const [type, n] of checks()) this.set({ type }, n);
    },
  });
  return {
    runs: new client.Counter({
      name: 'beacon_health_check_runs_total',
      help: 'Active check runs, by type and raw result status.',
      labelNames: ['type', 'status'] as const,
      registers,
    }),
    runDuration: new client.Histogram({
      name: 'beacon_health_check_duration_seconds',
      help: 'Duration of active check runs, by type.',
      labelNames: ['type'] as const,
      registers,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    }),
    writes: new client.Counter({
      name: 'beacon_health_status_writes_total',
      help: 'Check records written by the health subsystem: status changes, rate-limited output changes.',
      labelNames: ['kind'] as const,
      registers,
    }),
    ttlUpdates: new client.Counter({
      name: 'beacon_health_ttl_updates_total',
      help: 'TTL check updates (heartbeats), by whether they changed the status or output (only those are written).',
      labelNames: ['changed'] as const,
      registers,
    }),
    ttlExpired: new client.Counter({ name: 'beacon_health_ttl_expired_total', help: 'TTL checks that expired.', registers }),
    reaped: new client.Counter({ name: 'beacon_health_reaped_services_total', help: 'Services deregistered by DeregisterCriticalServiceAfter.', registers }),
    sessionUp: new client.Gauge({ name: 'beacon_health_session_up', help: '1 while this server holds its session lease, else 0.', registers }),
  };
}
