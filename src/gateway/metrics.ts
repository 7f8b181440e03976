import client from 'prom-client';
import { RequestSeries } from './request-series.js';

/** Distinct values one label may take per metric before further ones count as `other`. */
export const LABEL_LIMIT = 200;

/** Keeps a label's values bounded: the first `limit` distinct values pass, the rest read `other`. */
export class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #limit: number;

  constructor(limit = LABEL_LIMIT) {
    this.#limit = limit;
  }

  value(v: string): string {
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.#limit) return 'other';
    this.#seen.add(v);
    return v;
  }
}

/** Kinds of upstream failure counted by `beacon_gateway_upstream_errors_total`. */
export type UpstreamErrorKind = 'connect_refused' | 'connect_timeout' | 'timeout' | 'reset' | 'status_5xx' | 'other';

/** The gateway's and the sidecar's Prometheus metrics, `beacon_gateway_*`, on the admin address. */
export class GatewayMetrics {
  readonly registry = new client.Registry();
  readonly #requests = new RequestSeries([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly upstreamErrors: client.Counter<'service' | 'kind'>;
  readonly retries: client.Counter<'service'>;
  readonly ejections: client.Counter<'service'>;
  readonly openConnections: client.Gauge<'listener'>;
  readonly inFlight: client.Gauge;
  readonly sidecarConnections: client.Counter<'upstream' | 'instance'>;
  readonly routes: client.Gauge<'source'>;
  readonly routeReloads: client.Counter<'result'>;
  readonly #route = new BoundedLabel();
  readonly #service = new BoundedLabel();
  readonly #instance = new BoundedLabel();

  constructor() {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'beacon_process_' });
    this.#requests.register(
      this.registry,
      {
        name: 'beacon_gateway_requests_total',
        help: 'Requests answered by the gateway, by route, service, instance and status code (gateway errors have instance "").',
      },
      {
        name: 'beacon_gateway_request_duration_seconds',
        help: 'Time from request to response headers, retries included, by route, service and instance.',
      },
    );
    this.upstreamErrors = new client.Counter({
      name: 'beacon_gateway_upstream_errors_total',
      help: 'Failed tries against an instance, by service and kind (connect_refused, connect_timeout, timeout, reset, status_5xx, other).',
      labelNames: ['service', 'kind'] as const,
      registers,
    });
    this.retries = new client.Counter({
      name: 'beacon_gateway_retries_total',
      help: 'Requests and connections sent again to another instance, by service.',
      labelNames: ['service'] as const,
      registers,
    });
    this.ejections = new client.Counter({
      name: 'beacon_gateway_ejections_total',
      help: 'Instances ejected by passive health (failed calls in a row), by service.',
      labelNames: ['service'] as const,
      registers,
    });
    this.openConnections = new client.Gauge({
      name: 'beacon_gateway_open_connections',
      help: 'Client connections open now, by listener (http, or sidecar:<upstream>).',
      labelNames: ['listener'] as const,
      registers,
    });
    this.inFlight = new client.Gauge({ name: 'beacon_gateway_requests_in_flight', help: 'Requests being proxied now.', registers });
    this.sidecarConnections = new client.Counter({
      name: 'beacon_gateway_sidecar_connections_total',
      help: 'TCP connections the sidecar forwarded, by upstream and instance.',
      labelNames: ['upstream', 'instance'] as const,
      registers,
    });
    this.routes = new client.Gauge({
      name: 'beacon_gateway_routes',
      help: 'Path routes in the table, by source (file, tag).',
      labelNames: ['source'] as const,
      registers,
    });
    this.routeReloads = new client.Counter({
      name: 'beacon_gateway_route_reloads_total',
      help: 'Reloads of the routes file (SIGHUP), by result (ok, error).',
      labelNames: ['result'] as const,
      registers,
    });
  }

  /** Counts one answered request. `instance` is "" when the gateway answered itself. */
  recordRequest(route: string, service: string, instance: string, code: number, seconds: number): void {
    this.#requests.record(this.#route.value(route), this.#service.value(service), this.#instance.value(instance), code, seconds);
  }

  upstreamError(service: string, kind: UpstreamErrorKind): void {
    this.upstreamErrors.inc({ service: this.#service.value(service), kind });
  }

  retry(service: string): void {
    this.retries.inc({ service: this.#service.value(service) });
  }

  ejection(service: string): void {
    this.ejections.inc({ service: this.#service.value(service) });
  }

  sidecarConnection(upstream: string, instance: string): void {
    this.sidecarConnections.inc({ upstream, instance: this.#instance.value(instance) });
  }
}
