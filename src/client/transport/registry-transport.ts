import { request, type Dispatcher } from 'undici';
import { BeaconClientError } from '../client-error.js';
import { errorText, type ClientLogger } from '../logger.js';

/** Query parameters: `true` sends a presence-only flag (`?passing`), arrays repeat the key. */
export type QueryParams = Record<string, string | readonly string[] | true | undefined>;

/** One call to the registry's HTTP API. */
export interface RegistryRequest {
  readonly method: 'GET' | 'PUT';
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
  readonly servers: readonly string[];
  readonly token?: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly log: ClientLogger;
}

/** Statuses that mean "this server cannot serve now; another one may". */
const UNAVAILABLE = new Set([429, 502, 503, 504]);

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
 * `BEACON_ERR_REGISTRY_UNREACHABLE`. Any other answer, including 4xx and 500, is returned to the
 * caller as is.
 */
export class RegistryTransport {
  readonly servers: readonly string[];
  #preferred = 0;
  readonly #opts: TransportOptions;

  constructor(opts: TransportOptions) {
    this.#opts = opts;
    this.servers = [...opts.servers];
  }

  /** The server calls go to first. */
  get preferred(): string {
    return this.servers[this.#preferred]!;
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
      const server = this.servers[i]!;
      try {
        const res = await this.#send(server, req);
        if (!UNAVAILABLE.has(res.status)) {
          if (i !== this.#preferred) {
            this.#opts.log('info', 'registry failover', { from: this.servers[this.#preferred], to: server });
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
      this.#opts.log('debug', 'registry server unavailable', { server, error: failures[failures.length - 1] });
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
    throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `${res.server} answered ${res.status} with a body that is not JSON`, { status: res.status, cause: err });
  }
}

/** An error for an answer with an unexpected status. */
export function unexpectedStatus(res: RegistryResponse, what: string): BeaconClientError {
  const detail = res.text.trim().slice(0, 300);
  return new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `${what}: ${res.server} answered ${res.status}${detail ? ` (${detail})` : ''}`, { status: res.status });
}
