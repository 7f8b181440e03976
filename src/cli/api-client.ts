import { Agent, request } from 'undici';
import { BeaconClientError } from '../client/index.js';
import { formatHostPort, parseHostPort } from '../config/index.js';

/** Where the client commands send requests when neither `--http-addr` nor the environment says. */
export const DEFAULT_HTTP_ADDR = '127.0.0.1:8500';

/** Query parameters: `true` sends a presence-only flag (`?passing`), arrays repeat the key. */
export type Query = Record<string, string | readonly string[] | true | undefined>;

/** One call to the server's v1 HTTP API. */
export interface ApiRequest {
  readonly method?: 'GET' | 'PUT';
  /** Path starting with /v1/. */
  readonly path: string;
  readonly query?: Query;
  /** JSON-encoded when given. */
  readonly body?: unknown;
  /** What the call does, for error messages: `registering service "web"`. */
  readonly what: string;
  /** Headers and body timeout, in ms. Default 30 000. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A successful (2xx) answer. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * Resolves the server address of the client commands: the flag, else `$BEACON_HTTP_ADDR`, else
 * `$CONSUL_HTTP_ADDR` (what the consul CLI reads, so a shell set up for Consul works), else
 * 127.0.0.1:8500. Takes `HOST:PORT`, `[v6]:PORT`, or a URL with `http://` or `https://`.
 * Returns the base URL; throws `BEACON_ERR_VALIDATION` naming where the bad value came from.
 *
 * @example
 * resolveHttpAddr(undefined, { BEACON_HTTP_ADDR: '10.0.0.5:8500' }); // 'http://10.0.0.5:8500'
 */
export function resolveHttpAddr(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const [value, source] =
    flag !== undefined ? [flag, '--http-addr']
      : env.BEACON_HTTP_ADDR ? [env.BEACON_HTTP_ADDR, 'BEACON_HTTP_ADDR']
        : env.CONSUL_HTTP_ADDR ? [env.CONSUL_HTTP_ADDR, 'CONSUL_HTTP_ADDR']
          : [DEFAULT_HTTP_ADDR, 'default'];
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(value.trim());
  const hp = parseHostPort(m ? m[2]! : value);
  if (!hp) throw new BeaconClientError('BEACON_ERR_VALIDATION', `invalid ${source} "${value}": expected HOST:PORT, e.g. 127.0.0.1:8500`);
  return `${m ? m[1] : 'http'}://${formatHostPort(hp)}`;
}

/** One line describing a failed connection, e.g. `connect ECONNREFUSED 127.0.0.1:1`. */
function connectionError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return [...new Set(err.errors.map(connectionError))].join('; ');
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

/**
 * The client commands' connection to one Beacon (or Consul) server. Each answer other than 2xx
 * becomes a `BeaconClientError` whose message is the server's own text (which names the field at
 * fault); a connection failure becomes `BEACON_ERR_REGISTRY_UNREACHABLE`.
 *
 * @example
 * const api = new ApiClient('http://127.0.0.1:8500');
 * const members = await api.json({ path: '/v1/agent/members', what: 'listing members' });
 * await api.close();
 */
export class ApiClient {
  readonly baseUrl: string;
  readonly #agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 1_000 });

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** Sends the request; resolves with a 2xx answer, throws a `BeaconClientError` otherwise. */
  async send(req: ApiRequest): Promise<ApiResponse> {
    const timeout = req.timeoutMs ?? 30_000;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.baseUrl}${req.path}${encodeQuery(req.query)}`, {
        method: req.method ?? 'GET',
        dispatcher: this.#agent,
        headers: req.body === undefined ? {} : { 'content-type': 'application/json' },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: req.signal,
      });
    } catch (err) {
      if (req.signal?.aborted) throw err;
      throw new BeaconClientError('BEACON_ERR_REGISTRY_UNREACHABLE', `error ${req.what}: cannot reach ${this.baseUrl}: ${connectionError(err)}`, { cause: err });
    }
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      const detail = text.trim().replace(/\s+/g, ' ').slice(0, 500) || 'no message';
      throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `error ${req.what}: ${detail} (HTTP ${res.statusCode})`, { status: res.statusCode });
    }
    return { status: res.statusCode, headers: res.headers, text };
  }

  /** Sends the request and parses the JSON answer. */
  async json<T = unknown>(req: ApiRequest): Promise<T> {
    return parseBody<T>(await this.send(req), req.what);
  }

  /** Closes the connection pool, so the process can exit at once. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** Parses an answer's JSON body; a body that is not JSON gets a clear error. */
export function parseBody<T>(res: ApiResponse, what: string): T {
  try {
    return (res.text === '' ? null : JSON.parse(res.text)) as T;
  } catch (err) {
    throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `error ${what}: the server answered ${res.status} with a body that is not JSON`, { status: res.status, cause: err });
  }
}

/** Encodes a query string, `?` included (empty when nothing is set). */
export function encodeQuery(query: Query | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    if (v === true) parts.push(encodeURIComponent(k));
    else for (const item of typeof v === 'string' ? [v] : v) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(item)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
