import client, { type Registry } from 'prom-client';
import type { EventHub } from './hub.js';
import type { BeaconEvent } from './types.js';

/** Distinct service label values on the transitions counter; the rest count under "_other". */
export const MAX_SERVICE_LABELS = 500;

export interface EventMetrics {
  /** Counts one event (the hub's onEvent). */
  record(e: BeaconEvent): void;
  followerDropped(): void;
}

export interface SinkGauges {
  webhook?: { lag: () => number; delivered: () => number; failures: () => number; lost: () => number };
  log?: { written: () => number; dropped: () => number; pendingBytes: () => number };
}

/** The events subsystem's Prometheus metrics (beacon_events_*). */
export function createEventMetrics(registry: Registry, hub: () => EventHub | undefined, followers: () => number, sinks: () => SinkGauges): EventMetrics {
  const registers = [registry];
  const events = new client.Counter({
    name: 'beacon_events_total',
    help: 'Events derived from catalog changes, by kind.',
    labelNames: ['kind'] as const,
    registers,
  });
  const transitions = new client.Counter({
    name: 'beacon_events_check_transitions_total',
    help: `Check status transitions, by service (the first ${MAX_SERVICE_LABELS} names seen; later ones count as "_other"; node checks as "_node") and new status.`,
    labelNames: ['service', 'to'] as const,
    registers,
  });
  const flapping = new client.Counter({ name: 'beacon_events_flapping_total', help: 'Check transitions marked flapping.', registers });
  const dropped = new client.Counter({ name: 'beacon_events_followers_dropped_total', help: 'Event stream readers dropped for falling behind.', registers });
  new client.Gauge({
    name: 'beacon_events_followers',
    help: 'Open event streams.',
    registers,
    collect() {
      this.set(followers());
    },
  });
  new client.Gauge({
    name: 'beacon_events_history_events',
    help: 'Events held in the history.',
    registers,
    collect() {
      this.set(hub()?.history.size ?? 0);
    },
  });
  new client.Gauge({
    name: 'beacon_events_history_bytes',
    help: 'Estimated memory the history holds (JSON text plus a measured per-event overhead).',
    registers,
    collect() {
      this.set(hub()?.history.estimatedBytes ?? 0);
    },
  });
  new client.Gauge({
    name: 'beacon_events_history_floor',
    help: 'The newest revision the history cannot answer for: readers from older revisions get a gap event.',
    registers,
    collect() {
      this.set(hub()?.history.floor ?? 0);
    },
  });
  new client.Gauge({
    name: 'beacon_events_sink_lag_events',
    help: 'Events held that a sink has not delivered yet, by sink (webhook).',
    labelNames: ['sink'] as const,
    registers,
    collect() {
      this.reset();
      const w = sinks().webhook;
      if (w) this.set({ sink: 'webhook' }, w.lag());
    },
  });
  new client.Gauge({
    name: 'beacon_events_sink_events',
    help: 'Events a sink has delivered (result="delivered"), failed batches (result="failed"), events lost before delivery (result="lost") or dropped by the log (result="dropped"), by sink.',
    labelNames: ['sink', 'result'] as const,
    registers,
    collect() {
      this.reset();
      const { webhook: w, log: l } = sinks();
      if (w) {
        this.set({ sink: 'webhook', result: 'delivered' }, w.delivered());
        this.set({ sink: 'webhook', result: 'failed' }, w.failures());
        this.set({ sink: 'webhook', result: 'lost' }, w.lost());
      }
      if (l) {
        this.set({ sink: 'log', result: 'delivered' }, l.written());
        this.set({ sink: 'log', result: 'dropped' }, l.dropped());
      }
    },
  });
  const labelled = new Set<string>();
  const serviceLabel = (s: string | undefined): string => {
    if (!s) return '_node';
    if (labelled.has(s)) return s;
    if (labelled.size >= MAX_SERVICE_LABELS) return '_other';
    labelled.add(s);
    return s;
  };
  return {
    record(e) {
      events.inc({ kind: e.kind });
      if (e.kind === 'check-status' || e.kind === 'node-liveness') {
        transitions.inc({ service: serviceLabel(e.service), to: e.to ?? '' });
        if (e.flapping) flapping.inc();
      }
    },
    followerDropped() {
      dropped.inc();
    },
  };
}
