import { request, type Dispatcher } from 'undici';
import { BeaconClientError } from '../client-error.js';
import { errorText, silentLogger, type ClientLogger } from '../logger.js';

/** Query parameters: `true` sends a presence-only flag (`?passing`), arrays repeat the key. */
export type QueryParams = Record<string, string | readonly string[] | true | undefined>;

/** One call to the registry's HTTP API. */
export interface RegistryRequest {
  readonly method: 'GET' | 'PUT' | 'DELETE';
  /** Path starting with /v1/. */
  readonly path: string;
  readonly query?: QueryParams;
  /** JSON-encoded when given. */
  readonly body?: unknown;
  /** Headers and body timeout, in ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * false: try only the preferred server; if it is unavailable, make the next one preferred and
   * throw. For blocking queries, whose index only means something to the server that gave it.
   */
  readonly failover?: boolean;
}

/** The registry's answer. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** Base URL of the server that answered. */
  readonly server: string;
}

export interface TransportOptions {
  /** Base URLs (`http://host:port`), tried in order. */
  readonly servers: readonly string[];
  /** Sent as `X-Consul-Token`. */
  readonly token?: string;
  readonly dispatcher: Dispatcher;
  /** Headers and body timeout of a call that sets none, in ms. */
  readonly timeoutMs: number;
  /** Default: drops everything. */
  readonly log?: ClientLogger;
  /**
   * Statuses that mean "this server cannot serve now; another one may": the call moves on to the
   * next server, and throws `BEACON_ERR_REGISTRY_UNREACHABLE` when every one answered so.
   * Default 429, 502, 503, 504. An empty set returns every answer to the caller (a client of
   * one server that reports answers itself, such as Beacon's CLI).
   */
  readonly failoverStatuses?: ReadonlySet<number>;
}

const UNAVAILABLE: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Encodes a query string, `?` included (empty when nothing is set). */
export function encodeQuery(query: QueryParams | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (v === true) parts.push(encodeURIComponent(k));
    else for (const item of typeof v === 'string' ? [v] : v) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(item)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * Talks to the registry's v1 HTTP API over a list of server addresses with failover: a call
 * goes to the preferred server; on a connection error, timeout or 429/502/503/504 it moves on to
 * the next address (which becomes preferred) until each has been tried once, then throws
 * `BEACON_ERR_REGISTRY_UNREACHABLE` (its `cause` is the last failure). Any other answer,
 * including 4xx and 500, is returned to the caller as is. Query values are URL-encoded, a body
 * is sent as JSON.
 *
 * The one HTTP client to the registry: the SDK's discovery and registration, and Beacon's CLI.
 *
 * @example
 * const agent = new Agent();
 * const t = new RegistryTransport({ servers: ['http://127.0.0.1:8500'], dispatcher: agent, timeoutMs: 30_000 });
 * const res = await t.request({ method: 'GET', path: '/v1/health/service/web', query: { passing: true } });
 * const entries = parseJson(res);
 */
export class RegistryTransport {
  readonly servers: readonly string[];
  #preferred = 0;
  readonly #opts: TransportOptions;
  readonly #log: ClientLogger;
  readonly #failoverStatuses: ReadonlySet<number>;

  constructor(opts: TransportOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? silentLogger;
    this.#failoverStatuses = opts.failoverStatuses ?? UNAVAILABLE;
    this.servers = [...opts.servers];
  }

  /** The server calls go to first. */
  get preferred(): string {
    return this.servers[this.#preferred];
  }

  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const n = req.failover === false ? 1 : this.servers.length;
    const failures: string[] = [];
    let lastErr: unknown;
    // Concurrent requests move #preferred while this one awaits: walk from where it started, so
    // each address is tried exactly once.
    const start = this.#preferred;
    for (let attempt = 0; attempt < n; attempt++) {
      const i = (start + attempt) % this.servers.length;
      const server = this.servers[i];
      try {
        const res = await this.#send(server, req);
        if (!this.#failoverStatuses.has(res.status)) {
          if (i !== this.#preferred) {
            this.#log('info', 'registry failover', { from: this.servers[this.#preferred], to: server });
            this.#preferred = i;
          }
          return res;
        }
        lastErr = new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `${server} answered ${res.status}: ${res.text.slice(0, 200)}`, { status: res.status });
        failures.push(`${server}: HTTP ${res.status}`);
      } catch (err) {
        if (req.signal?.aborted) throw err;
        lastErr = err;
        failures.push(`${server}: ${errorText(err)}`);
      }
      this.#log('debug', 'registry server unavailable', { server, error: failures[failures.length - 1] });
    }
    if (this.#preferred === start) this.#preferred = (start + 1) % this.servers.length;
    throw new BeaconClientError('BEACON_ERR_REGISTRY_UNREACHABLE', `No registry server answered (${failures.join('; ')})`, { cause: lastErr });
  }

  async #send(server: string, req: RegistryRequest): Promise<RegistryResponse> {
    const headers: Record<string, string> = {};
    if (this.#opts.token) headers['x-consul-token'] = this.#opts.token;
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    const timeout = req.timeoutMs ?? this.#opts.timeoutMs;
    const res = await request(`${server}${req.path}${encodeQuery(req.query)}`, {
      method: req.method,
      headers,
      body,
      dispatcher: this.#opts.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: req.signal,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, server };
  }
}

/** Parses a JSON answer; a registry that sends garbage gets a clear error. */
export function parseJson(res: RegistryResponse): unknown {
  try {
    return res.text === '' ? null : JSON.parse(res.text);
  } catch (err) {
    throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `${res.server} answered ${res.status} with a body that is not JSON`, {
      status: res.status,
      cause: err,
    });
  }
}

/** An error for an answer with an unexpected status. */
export function unexpectedStatus(res: RegistryResponse, what: string): BeaconClientError {
  const detail = res.text.trim().slice(0, 300);
  return new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `${what}: ${res.server} answered ${res.status}${detail ? ` (${detail})` : ''}`, {
    status: res.status,
  });
}
