import { Agent, request } from 'undici';
import { BeaconError, ERRORS, type ErrorCode } from '../../errors/index.js';
import type { WanMemberTable, WanServer } from './member-table.js';

/** Header that marks a request forwarded from another datacenter (it is never forwarded again). */
export const FORWARDED_HEADER = 'x-beacon-forwarded-dc';

export interface ForwardRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** How long the whole forward may take, every try included. */
  timeoutMs: number;
  /** A blocking query: its time is not a round trip (no RTT sample). */
  blocking?: boolean;
  /** Aborted when the client went away: the forward ends too. */
  signal?: AbortSignal;
}

export interface ForwardResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The server that answered. */
  server: WanServer;
}

export type ForwardResult = 'ok' | 'failover' | 'unreachable' | 'timeout';

export interface WanForwarderOptions {
  table: WanMemberTable;
  /** This server's datacenter, sent along so the remote side can tell a forwarded request. */
  from: string;
  /** Tries per request, over the datacenter's servers (default 3). */
  maxTries?: number;
  /** Base pause between tries, jittered and doubled per try (default 50 ms). */
  backoffMs?: number;
  connectTimeoutMs?: number;
  onResult?: (dc: string, result: ForwardResult) => void;
  /** Injected for tests: the HTTP call itself. */
  send?: typeof request;
  /** The servers speak HTTPS: verify them against `ca`, present `cert`/`key` where they require client certificates. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host']);

/** Network errors before a request reached the server: safe to try the next server even for a write. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

function errCode(err: unknown): string {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; i < 4 && e; i++) {
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
    e = e.cause as typeof e;
  }
  return (err as { code?: string })?.code ?? '';
}

export function unreachable(dc: string, detail: string): BeaconError {
  return new BeaconError('BEACON_ERR_DC_UNREACHABLE', `Remote DC has no server currently reachable: datacenter "${dc}" ${detail}`, { field: 'dc' });
}

/**
 * Sends requests to another datacenter's servers: undici pools per datacenter (a slow or dead
 * datacenter holds only its own connections; blocking queries have a pool of their own), the fastest answering server first, the next one
 * after a network failure with a jittered, doubling pause, all within the request's time. A
 * datacenter marked unreachable is refused at once: the exchange loop finds out when it is back.
 * Writes move to another server only when the first one refused the connection (it never got
 * the request), so a write is not applied twice.
 *
 * @example
 * const fwd = new WanForwarder({ table, from: 'dc1' });
 * const res = await fwd.forward('dc2', { method: 'GET', url: '/v1/health/service/web?dc=dc2', headers: {}, timeoutMs: 5000 });
 */
export class WanForwarder {
  /** Connection pools by kind and datacenter. */
  private readonly pools = new Map<string, Agent>();
  private readonly maxTries: number;
  private readonly backoffMs: number;
  private readonly connectTimeoutMs: number;
  private readonly send: typeof request;
  private closed = false;

  constructor(private readonly o: WanForwarderOptions) {
    this.maxTries = o.maxTries ?? 3;
    this.backoffMs = o.backoffMs ?? 50;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 2000;
    this.send = o.send ?? request;
  }

  /**
   * One pool per datacenter and kind: blocking queries each hold a connection for up to their
   * wait, so they get their own pool without a connection cap, and never queue a plain request
   * behind them.
   */
  private pool(dc: string, blocking: boolean): Agent {
    const key = `${blocking ? 'b' : 'p'}:${dc}`;
    let a = this.pools.get(key);
    if (!a) {
      a = new Agent({
        connections: blocking ? null : 64,
        keepAliveTimeout: 30_000,
        connect: { timeout: this.connectTimeoutMs, ...this.o.tls },
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(key, a);
    }
    return a;
  }

  async forward(dc: string, req: ForwardRequest): Promise<ForwardResponse> {
    const { table } = this.o;
    if (!table.has(dc) || dc === table.local) {
      throw new BeaconError('BEACON_ERR_NO_PATH_TO_DC', `No path to datacenter: "${dc}" (this server serves "${table.local}")`, { field: 'dc' });
    }
    if (this.closed) throw unreachable(dc, 'cannot be asked: this server is shutting down');
    if (!table.reachable(dc)) {
      this.o.onResult?.(dc, 'unreachable');
      throw unreachable(dc, 'is marked unreachable: none of its servers answered lately');
    }
    const deadline = Date.now() + req.timeoutMs;
    const servers = table.serversToTry(dc);
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    let lastErr = '';
    for (let i = 0; i < Math.min(this.maxTries, servers.length); i++) {
      const s = servers[i];
      const left = Math.ceil(deadline - Date.now());
      if (left <= 0) break;
      const started = performance.now();
      try {
        const res = await this.send(`${this.o.tls ? 'https' : 'http'}://${s.Http}${req.url}`, {
          method: req.method as 'GET',
          dispatcher: this.pool(dc, req.blocking === true),
          headers: { ...req.headers, [FORWARDED_HEADER]: this.o.from },
          body: req.body,
          signal: req.signal ? AbortSignal.any([req.signal, AbortSignal.timeout(left)]) : AbortSignal.timeout(left),
        });
        const body = Buffer.from(await res.body.arrayBuffer());
        table.succeeded(dc, s.Node, req.blocking ? undefined : performance.now() - started);
        this.o.onResult?.(dc, i === 0 ? 'ok' : 'failover');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined || HOP_BY_HOP.has(k)) continue;
          headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        return { statusCode: res.statusCode, headers, body, server: s };
      } catch (err) {
        if (req.signal?.aborted) throw unreachable(dc, 'was not waited for: the client went away');
        const code = errCode(err);
        const timedOut = Date.now() >= deadline || (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
        lastErr = timedOut ? `did not answer within ${Math.round(req.timeoutMs)} ms` : `${s.Node} (${s.Http}): ${code || (err as Error).message}`;
        if (timedOut) {
          // A blocking query that ran out its time says nothing about the server.
          if (!req.blocking) table.failed(dc, s.Node);
          this.o.onResult?.(dc, 'timeout');
          throw unreachable(dc, lastErr);
        }
        table.failed(dc, s.Node);
        if (!idempotent && !NOT_SENT.has(code)) break;
        const pause = this.backoffMs * 2 ** i * (0.5 + Math.random());
        if (Date.now() + pause >= deadline) break;
        await new Promise((r) => setTimeout(r, pause));
      }
    }
    this.o.onResult?.(dc, 'unreachable');
    throw unreachable(dc, lastErr ? `did not answer: ${lastErr}` : 'has no server to ask');
  }

  /** A GET answered as JSON; a non-200 answer rejects with the remote's error code when it sent one. */
  async getJson<T>(dc: string, url: string, timeoutMs: number): Promise<{ body: T; headers: Record<string, string> }> {
    const res = await this.forward(dc, { method: 'GET', url, headers: { accept: 'application/json' }, timeoutMs });
    const text = res.body.toString('utf8');
    if (res.statusCode !== 200) {
      const code = res.headers['x-beacon-error'];
      if (code && code in ERRORS) throw new BeaconError(code as ErrorCode, `datacenter "${dc}" answered: ${text.trim().slice(0, 300)}`);
      throw unreachable(dc, `answered ${res.statusCode}: ${text.trim().slice(0, 300)}`);
    }
    try {
      return { body: JSON.parse(text) as T, headers: res.headers };
    } catch {
      throw unreachable(dc, 'answered with a body that is not JSON');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pools.values()].map((a) => a.destroy()));
    this.pools.clear();
  }
}
