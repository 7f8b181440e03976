import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { BeaconClientError, RegistryTransport, type QueryParams, type RegistryResponse } from '../client/index.js';
import { formatHostPort, parseHostPort } from '../config/index.js';
import { ERRORS } from '../errors/index.js';

/** Where the client commands send requests when neither `--http-addr` nor the environment says. */
export const DEFAULT_HTTP_ADDR = '127.0.0.1:8500';

/** Query parameters: `true` sends a presence-only flag (`?passing`), arrays repeat the key. */
export type Query = QueryParams;

/** One call to the server's v1 HTTP API. */
export interface ApiRequest {
  readonly method?: 'GET' | 'PUT' | 'DELETE';
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
export type ApiResponse = RegistryResponse;

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
    flag !== undefined
      ? [flag, '--http-addr']
      : env.BEACON_HTTP_ADDR
        ? [env.BEACON_HTTP_ADDR, 'BEACON_HTTP_ADDR']
        : env.CONSUL_HTTP_ADDR
          ? [env.CONSUL_HTTP_ADDR, 'CONSUL_HTTP_ADDR']
          : [DEFAULT_HTTP_ADDR, 'default'];
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(value.trim());
  const hp = parseHostPort(m ? m[2] : value);
  if (!hp) throw new BeaconClientError('BEACON_ERR_VALIDATION', `invalid ${source} "${value}": expected HOST:PORT, e.g. 127.0.0.1:8500`);
  return `${m ? m[1] : 'http'}://${formatHostPort(hp)}`;
}

/**
 * The ACL token of the client commands: the flag, else `$BEACON_HTTP_TOKEN`, else
 * `$CONSUL_HTTP_TOKEN` (as the consul CLI reads it), else none.
 *
 * @example
 * resolveToken(undefined, { CONSUL_HTTP_TOKEN: 'abc' }); // 'abc'
 */
export function resolveToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined && flag.trim() === '') throw new BeaconClientError('BEACON_ERR_VALIDATION', 'invalid --token "": expected the ACL token');
  return flag ?? (env.BEACON_HTTP_TOKEN || env.CONSUL_HTTP_TOKEN || undefined);
}

/** Files of the client's TLS settings, read into what undici's connector takes. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * The client commands' TLS files: `--ca-file` (else `$BEACON_CACERT`, else `$CONSUL_CACERT`),
 * `--client-cert` and `--client-key` (else `$BEACON_CLIENT_CERT`/`$CONSUL_CLIENT_CERT` and
 * `$BEACON_CLIENT_KEY`/`$CONSUL_CLIENT_KEY`), as the consul CLI reads them. Undefined when none
 * is set (Node's trust store then verifies an https:// server). A file that cannot be read is a
 * usage error naming it.
 */
export function resolveTls(flags: { caFile?: string; clientCert?: string; clientKey?: string }, env: NodeJS.ProcessEnv): ClientTls | undefined {
  const pick = (flag: string | undefined, flagName: string, ...vars: string[]): [string, string] | undefined => {
    if (flag !== undefined) return [flag, flagName];
    for (const v of vars) if (env[v]) return [env[v], v];
    return undefined;
  };
  const ca = pick(flags.caFile, '--ca-file', 'BEACON_CACERT', 'CONSUL_CACERT');
  const cert = pick(flags.clientCert, '--client-cert', 'BEACON_CLIENT_CERT', 'CONSUL_CLIENT_CERT');
  const key = pick(flags.clientKey, '--client-key', 'BEACON_CLIENT_KEY', 'CONSUL_CLIENT_KEY');
  if (!ca && !cert && !key) return undefined;
  if (!cert !== !key) {
    const [, given] = (cert ?? key)!;
    throw new BeaconClientError('BEACON_ERR_VALIDATION', `invalid ${given}: a client certificate needs both --client-cert and --client-key`);
  }
  const read = ([path, source]: [string, string]): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new BeaconClientError('BEACON_ERR_VALIDATION', `invalid ${source} "${path}": ${(err as Error).message}`);
    }
  };
  return { ...(ca ? { ca: read(ca) } : {}), ...(cert ? { cert: read(cert) } : {}), ...(key ? { key: read(key) } : {}) };
}

/** The `--datacenter` flag: a datacenter name, or undefined for the server's own. */
export function resolveDatacenter(flag: string | undefined): string | undefined {
  if (flag !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(flag))
    throw new BeaconClientError('BEACON_ERR_VALIDATION', `invalid --datacenter ${JSON.stringify(flag)}: expected a datacenter name such as dc1`);
  return flag;
}

/** One line describing a failed connection, e.g. `connect ECONNREFUSED 127.0.0.1:1`. */
function connectionError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return [...new Set(err.errors.map(connectionError))].join('; ');
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

/**
 * The message of an error answer, on one line: Beacon's own routes answer JSON `{code, message}`
 * (and a bare HTTP framework may answer `{error, message}`), the Consul routes plain text.
 */
export function answerMessage(res: Pick<RegistryResponse, 'text'>): string {
  const text = res.text.trim();
  if (text.startsWith('{')) {
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === 'string' && body.message.trim() !== '') return oneLine(body.message);
    } catch {
      /* not JSON after all: the text as is */
    }
  }
  return oneLine(text) || 'no message';
}

const oneLine = (text: string) => text.trim().replace(/\s+/g, ' ').slice(0, 500);

/**
 * True for a 503 whose `X-Beacon-Error` code is retryable (`BEACON_ERR_SHUTTING_DOWN`,
 * `BEACON_ERR_STORE_UNAVAILABLE`, ...): the server is there but cannot serve now.
 */
export function isRetryableUnavailable(res: Pick<RegistryResponse, 'status' | 'headers'>): boolean {
  if (res.status !== 503) return false;
  const header = res.headers['x-beacon-error'];
  const code = Array.isArray(header) ? header[0] : header;
  return code !== undefined && Object.hasOwn(ERRORS, code) && ERRORS[code as keyof typeof ERRORS].retryable;
}

/**
 * The client commands' connection to one Beacon (or Consul) server, over the SDK's
 * `RegistryTransport`. Each answer other than 2xx becomes a `BeaconClientError` whose message is
 * the server's own message (which names the field at fault), never a raw JSON body. A connection
 * failure becomes `BEACON_ERR_REGISTRY_UNREACHABLE`, and so does a retryable 503 (the server is
 * shutting down or cannot reach its store), with `status` 503: callers that loop, such as
 * `beacon watch`, retry it.
 *
 * @example
 * const api = new ApiClient('http://127.0.0.1:8500');
 * const members = await api.json({ path: '/v1/agent/members', what: 'listing members' });
 * await api.close();
 */
export class ApiClient {
  readonly baseUrl: string;
  readonly #agent: Agent;
  readonly #transport: RegistryTransport;

  readonly #datacenter: string | undefined;

  /** `token` goes in `X-Consul-Token`; `datacenter` as `dc` on every request, as the consul CLI sends them; `tls` for an https:// server. */
  constructor(baseUrl: string, opts: { token?: string; datacenter?: string; tls?: ClientTls } = {}) {
    this.baseUrl = baseUrl;
    this.#agent = new Agent({ connect: { timeout: 10_000, ...opts.tls }, keepAliveTimeout: 1_000 });
    this.#datacenter = opts.datacenter;
    // One server, and every answer (503 included) reported as the server gave it.
    this.#transport = new RegistryTransport({
      servers: [baseUrl],
      token: opts.token,
      dispatcher: this.#agent,
      timeoutMs: 30_000,
      failoverStatuses: new Set(),
    });
  }

  /** Sends the request; resolves with a 2xx answer, throws a `BeaconClientError` otherwise. */
  async send(req: ApiRequest): Promise<ApiResponse> {
    let res: RegistryResponse;
    try {
      res = await this.#transport.request({
        method: req.method ?? 'GET',
        path: req.path,
        query: this.#datacenter === undefined ? req.query : { ...req.query, dc: this.#datacenter },
        body: req.body,
        timeoutMs: req.timeoutMs,
        signal: req.signal,
      });
    } catch (err) {
      if (req.signal?.aborted) throw err;
      // The transport's error lists every server; the CLI has one, so it says what failed there.
      const cause = err instanceof BeaconClientError && err.cause !== undefined ? err.cause : err;
      throw new BeaconClientError('BEACON_ERR_REGISTRY_UNREACHABLE', `error ${req.what}: cannot reach ${this.baseUrl}: ${connectionError(cause)}`, { cause });
    }
    if (res.status < 200 || res.status > 299) {
      const detail = answerMessage(res);
      if (isRetryableUnavailable(res)) {
        throw new BeaconClientError('BEACON_ERR_REGISTRY_UNREACHABLE', `error ${req.what}: ${this.baseUrl} is unavailable: ${detail} (HTTP ${res.status})`, {
          status: res.status,
        });
      }
      throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `error ${req.what}: ${detail} (HTTP ${res.status})`, { status: res.status });
    }
    return res;
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
export function parseBody<T>(res: Pick<ApiResponse, 'status' | 'text'>, what: string): T {
  try {
    return (res.text === '' ? null : JSON.parse(res.text)) as T;
  } catch (err) {
    throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `error ${what}: the server answered ${res.status} with a body that is not JSON`, {
      status: res.status,
      cause: err,
    });
  }
}
