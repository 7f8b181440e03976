import client from 'prom-client';
import type { Catalog } from '../../catalog/index.js';
import { registerScrapeMetric, RequestCounter, RequestHistogram } from './request-metrics.js';
import { storeCounters, type Store, type StoreCounters } from '../../store/index.js';

/** The server's Prometheus registry, metrics named beacon_<subsystem>_*. */
export interface HttpMetrics {
  registry: client.Registry;
  requests: RequestCounter;
  latency: RequestHistogram;
  blockingWaiting: client.Gauge;
  /** Counts one answered request and its latency (every answer: routed, cached or heartbeat). */
  record(route: string, method: string, code: number, seconds: number): void;
}

/**
 * The counter `name` of `registry`, made on first use: an app built twice on one registry (tests,
 * a restart in process) counts into the same counter instead of failing to register it again.
 */
export function sharedCounter<L extends string = never>(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): client.Counter<L> {
  return (registry.getSingleMetric(name) as client.Counter<L> | undefined) ?? new client.Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function createMetrics(deps: { catalog: Catalog; store: Store }): HttpMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'beacon_process_' });
  const requests = new RequestCounter('beacon_http_requests_total', 'HTTP requests answered, by route pattern, method and status code.');
  registerScrapeMetric(registry, requests);
  const latency = new RequestHistogram(
    'beacon_http_request_duration_seconds',
    'HTTP request latency by route pattern (blocking queries include their wait).',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 60, 600],
  );
  registerScrapeMetric(registry, latency);
  const blockingWaiting = new client.Gauge({
    name: 'beacon_http_blocking_queries_waiting',
    help: 'Blocking queries currently waiting for a change.',
    registers: [registry],
  });
  const { catalog, store } = deps;
  new client.Gauge({
    name: 'beacon_catalog_objects',
    help: 'Objects in the catalog view, by kind (nodes, services, instances, checks).',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const s = catalog.sizes;
      this.set({ kind: 'nodes' }, s.nodes);
      this.set({ kind: 'services' }, s.services);
      this.set({ kind: 'instances' }, s.instances);
      this.set({ kind: 'checks' }, s.checks);
    },
  });
  new client.Gauge({
    name: 'beacon_catalog_pending_statuses',
    help: 'Check statuses decided by the health checkers but not yet written to the store (answers show them).',
    registers: [registry],
    collect() {
      this.set(catalog.pendingCount);
    },
  });
  new client.Gauge({
    name: 'beacon_catalog_revision',
    help: 'Store revision the catalog view has applied.',
    registers: [registry],
    collect() {
      this.set(catalog.revision);
    },
  });
  new client.Gauge({
    name: 'beacon_store_revision',
    help: 'Current store revision.',
    registers: [registry],
    async collect() {
      this.set((await store.stats()).revision);
    },
  });
  new client.Gauge({
    name: 'beacon_store_keys',
    help: 'Keys in the store.',
    registers: [registry],
    async collect() {
      this.set((await store.stats()).keys);
    },
  });
  new client.Gauge({
    name: 'beacon_store_leases',
    help: 'Live leases in the store.',
    registers: [registry],
    async collect() {
      this.set((await store.stats()).leases);
    },
  });
  const counter = (name: string, help: string, pick: (c: StoreCounters) => number, type: 'counter' | 'gauge') => {
    const Kind = type === 'counter' ? client.Counter : client.Gauge;
    let last = 0;
    new Kind({
      name,
      help,
      registers: [registry],
      collect(this: client.Counter | client.Gauge) {
        const c = storeCounters(store);
        if (!c) return;
        const v = pick(c);
        if (this instanceof client.Counter) {
          if (v > last) this.inc(v - last);
        } else {
          this.set(v);
        }
        last = v;
      },
    });
  };
  counter('beacon_store_commits_total', 'Disk commits (one fsync each, holding one or more writes).', (c) => c.commits, 'counter');
  counter('beacon_store_revisions_total', 'Revisions committed.', (c) => c.revisions, 'counter');
  counter('beacon_store_commit_seconds_total', 'Time spent committing to disk.', (c) => c.commitSeconds, 'counter');
  counter('beacon_store_commit_batch_max', 'Most revisions one commit carried since start.', (c) => c.commitBatchMax, 'gauge');
  counter('beacon_store_lease_expiries_total', 'Leases that lapsed (not revoked).', (c) => c.leaseExpiries, 'counter');
  counter('beacon_store_watchers', 'Store watches open.', (c) => c.watchers, 'gauge');
  counter('beacon_store_disk_bytes', 'Bytes on disk (database and write-ahead log).', (c) => c.diskBytes, 'gauge');
  counter('beacon_store_writable', 'Whether the store takes writes (1), or its last commit failed and it is retrying (0).', (c) => c.writable, 'gauge');
  counter('beacon_store_commit_failures_total', 'Commits that failed (disk full, I/O error); their writes were refused.', (c) => c.commitFailures, 'counter');
  // Series found once per route, method and code, then bumped in place.
  const bound = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  const record = (route: string, method: string, code: number, seconds: number): void => {
    const key = `${route}\u0000${method}\u0000${code}`;
    let m = bound.get(key);
    if (!m) bound.set(key, (m = { count: requests.labels(route, method, String(code)), time: latency.labels(route, method) }));
    m.count.inc();
    m.time.observe(seconds);
  };
  return { registry, requests, latency, blockingWaiting, record };
}
