import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { ServiceInstance, ServiceSnapshot } from '../client/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import { clientAddress, downstreamHeaders, upgradeHead, upstreamHeaders } from './forward-headers.js';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics, UpstreamErrorKind } from './metrics.js';
import { instanceLabel, noInstance, preparedNow, prepareTarget, resolveRequest, type Prepared, type Resolved } from './resolve.js';
import type { RetryBudget } from './retry-budget.js';
import type { RouteTable } from './route-table.js';
import type { FailoverTargets, Upstreams } from './upstreams.js';

/** Methods safe to send twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Statuses of an upstream that asks to be tried elsewhere. */
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Longest quiet gap while a response body streams, in ms. */
const BODY_IDLE_MS = 300_000;
const CONSISTENT_HASH_HEADER = 'x-beacon-hash-key';

export interface ProxyDeps {
  readonly config: GatewayConfig;
  readonly upstreams: Upstreams;
  readonly table: () => RouteTable;
  readonly metrics: GatewayMetrics;
  readonly budget: RetryBudget;
  /** Access log (one JSON line per request); undefined: off. */
  readonly accessLog: Logger | undefined;
  readonly failover?: FailoverTargets;
}

/** How one try against an instance ended. */
type TryOutcome =
  | { readonly kind: 'answered'; readonly status: number; readonly headersMs: number }
  | { readonly kind: 'retry-status'; readonly status: number; readonly headersMs: number }
  | { readonly kind: 'broken'; readonly status: number; readonly headersMs: number }
  | { readonly kind: 'failed'; readonly error: Error; readonly errorKind: UpstreamErrorKind; readonly sent: boolean; readonly ms: number };

/** Sorts a failed try: what kind, and whether the request may have reached the instance. */
export function classifyError(err: unknown): { kind: UpstreamErrorKind; sent: boolean } {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return { kind: 'connect_refused', sent: false };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { kind: 'connect_timeout', sent: false };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return { kind: 'other', sent: false };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { kind: 'timeout', sent: true };
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return { kind: 'reset', sent: true };
    default:
      return { kind: 'other', sent: true };
  }
}

const discard = (): Writable =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

/** Writes an error in Beacon's JSON form `{code, message}`, or cuts the connection if headers went out already. */
export function sendError(res: ServerResponse, err: BeaconError, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ code: err.code, message: err.message });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-beacon-error': err.code,
  };
  if (close) headers.connection = 'close';
  res.writeHead(err.status, headers).end(body);
}

/**
 * The HTTP reverse proxy: resolves each request to a target, picks an instance with the target's
 * balancer, streams the request and the response through the instance's connection pool, and
 * retries on another instance when that is safe. Also passes upgrade (WebSocket) requests
 * through as raw TCP after the handshake.
 */
export class HttpProxy {
  readonly #d: ProxyDeps;
  #inFlight = 0;
  #stopping = false;
  #idle: Array<() => void> = [];

  constructor(deps: ProxyDeps) {
    this.#d = deps;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** From now on, new requests answer 503 with `Connection: close`; resolves when none is in flight. */
  drain(): Promise<void> {
    this.#stopping = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#stopping) {
      sendError(res, new BeaconError('BEACON_ERR_SHUTTING_DOWN', 'Gateway is shutting down'), true);
      return;
    }
    this.#inFlight += 1;
    this.#d.metrics.inFlight.inc();
    this.#proxy(req, res)
      .catch((err: unknown) => {
        sendError(res, isBeaconError(err) ? err : new BeaconError('BEACON_ERR_INTERNAL', `Gateway error: ${(err as Error).message}`));
      })
      .finally(() => {
        this.#inFlight -= 1;
        this.#d.metrics.inFlight.dec();
        if (this.#inFlight === 0) for (const f of this.#idle.splice(0)) f();
      });
  };

  async #proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const d = this.#d;
    const cfg = d.config;
    d.budget.deposit();
    if (this.#stopping) res.setHeader('connection', 'close');
    let resolved: Resolved | undefined;
    let prepared: Prepared | undefined;
    let instance: ServiceInstance | undefined;
    let tries = 0;
    const finish = (code: number) => {
      const secs = (performance.now() - started) / 1000;
      d.metrics.recordRequest(
        resolved?.route ?? '',
        prepared?.target.service ?? resolved?.target.service ?? '',
        instance ? instanceLabel(instance) : '',
        code,
        secs,
      );
      d.accessLog?.info({
        method: req.method,
        host: req.headers.host,
        path: req.url,
        status: code,
        route: resolved?.route,
        service: prepared?.target.service ?? resolved?.target.service,
        instance: instance?.id,
        tries,
        ms: Math.round(secs * 1e4) / 10,
        client: clientAddress(req),
      });
    };
    try {
      resolved = resolveRequest(req, d.table(), cfg.domain);
      prepared = preparedNow(d.upstreams, resolved.target) ?? (await prepareTarget(d.upstreams, resolved.target, d.failover));
    } catch (err) {
      const e = isBeaconError(err) ? err : new BeaconError('BEACON_ERR_INTERNAL', (err as Error).message);
      sendError(res, e);
      finish(e.status);
      return;
    }
    const { router, target } = prepared;
    const method = (req.method ?? 'GET').toUpperCase();
    const cl = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
    // A streamed body is sent once: only a request without one can go to a second instance.
    const replayable = !hasBody;
    const idempotent = IDEMPOTENT.has(method);
    const key = (req.headers[CONSISTENT_HASH_HEADER] as string | undefined) ?? clientAddress(req);
    // The client went away. No abort signal per request (it costs more than it saves): undici
    // stops the upstream request once it finds the response destroyed.
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    const headers = upstreamHeaders(req, 'http');
    const tried = new Set<string>();
    const deadline = started + cfg.timeoutMs;
    let lastError: BeaconError | undefined;
    let lastSent = false;
    for (let attempt = 0; attempt <= cfg.retries; attempt++) {
      const snap: ServiceSnapshot = router.snapshotNow() ?? prepared.snap;
      const inst = router.pickFrom(snap, key, tried);
      if (!inst) {
        lastError ??= noInstance(target, snap, tried.size);
        break;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        lastError = new BeaconError('BEACON_ERR_GATEWAY_TIMEOUT', `Service ${target.service}: no answer within --timeout ${cfg.timeoutMs} ms`);
        break;
      }
      if (attempt > 0) {
        // The budget caps the extra load retries put on instances; a try that never reached one
        // (refused, unreachable) added none, so its retry is not counted against it.
        if (lastSent && !d.budget.withdraw()) break;
        d.metrics.retry(target.service);
      }
      tried.add(inst.id);
      instance = inst;
      tries += 1;
      const mayRetryStatus = replayable && idempotent && attempt < cfg.retries && router.available(snap).some((i) => !tried.has(i.id));
      const call = router.begin(inst);
      const out = await this.#try(inst, req, res, resolved.path, method, headers, hasBody, Math.min(cfg.tryTimeoutMs, remaining), mayRetryStatus);
      const aborted = clientGone;
      const failed = !aborted && (out.kind === 'failed' || out.kind === 'broken' || out.status >= 500);
      // Only a failure can eject: look the state up around it, not around every success.
      const wasEjected = failed && router.outliers.isEjected(inst.id);
      call.done({ latencyMs: out.kind === 'failed' ? out.ms : out.headersMs, failed, aborted });
      if (failed && !wasEjected && router.outliers.isEjected(inst.id)) d.metrics.ejection(target.service);
      if (out.kind === 'answered') return finish(out.status);
      if (out.kind === 'broken') {
        d.metrics.upstreamError(target.service, 'reset');
        if (aborted) return finish(499);
        // Headers arrived but could not be passed on (a header Node refuses): answer 502 instead.
        if (!res.headersSent) {
          sendError(
            res,
            new BeaconError('BEACON_ERR_GATEWAY_UPSTREAM', `Service ${target.service}: instance ${inst.id} sent an answer that cannot be passed on`),
          );
          return finish(502);
        }
        // Cut mid-body: the client sees the connection close, as it would talking to the instance.
        return finish(out.status);
      }
      if (aborted) {
        res.destroy();
        return finish(499);
      }
      if (out.kind === 'retry-status') {
        lastSent = true;
        d.metrics.upstreamError(target.service, 'status_5xx');
        lastError = new BeaconError('BEACON_ERR_GATEWAY_UPSTREAM', `Service ${target.service}: instance ${inst.id} answered ${out.status}`);
        continue;
      }
      d.metrics.upstreamError(target.service, out.errorKind);
      lastError =
        out.errorKind === 'timeout' || out.errorKind === 'connect_timeout'
          ? new BeaconError('BEACON_ERR_GATEWAY_TIMEOUT', `Service ${target.service}: instance ${inst.id} did not answer in time (${out.error.message})`)
          : new BeaconError('BEACON_ERR_GATEWAY_UPSTREAM', `Service ${target.service}: instance ${inst.id} failed (${errorCode(out.error)})`);
      // Safe to send again: nothing reached the instance, or an idempotent request without a body.
      lastSent = out.sent;
      const again = replayable && (!out.sent || idempotent);
      if (!again) break;
    }
    const e = lastError ?? noInstance(target, prepared.snap, tried.size);
    sendError(res, e);
    finish(e.status);
  }

  /** One try against `inst`: streams the request there and, unless asked to retry on a 5xx, the answer back. */
  async #try(
    inst: ServiceInstance,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
    headers: Record<string, string | string[]>,
    hasBody: boolean,
    timeoutMs: number,
    mayRetryStatus: boolean,
  ): Promise<TryOutcome> {
    const t0 = performance.now();
    let headersMs = -1;
    let status = 0;
    let discarded = false;
    try {
      await this.#d.upstreams.pool(inst).stream(
        {
          path,
          method: method,
          headers,
          body: hasBody ? req : null,
          headersTimeout: timeoutMs,
          bodyTimeout: BODY_IDLE_MS,
        },
        ({ statusCode, headers: upstream }) => {
          headersMs = performance.now() - t0;
          status = statusCode;
          if (mayRetryStatus && RETRY_STATUSES.has(statusCode)) {
            discarded = true;
            return discard();
          }
          res.writeHead(statusCode, downstreamHeaders(upstream));
          return res;
        },
      );
      return discarded ? { kind: 'retry-status', status, headersMs } : { kind: 'answered', status, headersMs };
    } catch (err) {
      if (headersMs >= 0 && !discarded) return { kind: 'broken', status, headersMs };
      if (discarded) return { kind: 'retry-status', status, headersMs };
      const c = classifyError(err);
      return { kind: 'failed', error: err as Error, errorKind: c.kind, sent: c.sent, ms: performance.now() - t0 };
    }
  }

  /** An upgrade request (WebSocket): after the route and an instance are found, bytes flow both ways untouched. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    if (this.#stopping) {
      writeRawError(socket, new BeaconError('BEACON_ERR_SHUTTING_DOWN', 'Gateway is shutting down'));
      return;
    }
    void this.#upgrade(req, socket, head).catch((err: unknown) => {
      writeRawError(socket, isBeaconError(err) ? err : new BeaconError('BEACON_ERR_INTERNAL', `Gateway error: ${(err as Error).message}`));
    });
  };

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const d = this.#d;
    const started = performance.now();
    const resolved = resolveRequest(req, d.table(), d.config.domain);
    let prepared: Prepared;
    try {
      prepared = await prepareTarget(d.upstreams, resolved.target, d.failover);
    } catch (err) {
      if (isBeaconError(err)) d.metrics.recordRequest(resolved.route, resolved.target.service, '', err.status, (performance.now() - started) / 1000);
      throw err;
    }
    const { router, target } = prepared;
    const tried = new Set<string>();
    let lastError: BeaconError | undefined;
    for (let attempt = 0; attempt <= d.config.retries; attempt++) {
      const snap = router.snapshotNow() ?? prepared.snap;
      const inst = router.pickFrom(snap, clientAddress(req), tried);
      if (!inst) break;
      if (attempt > 0) d.metrics.retry(target.service);
      tried.add(inst.id);
      const call = router.begin(inst);
      const t0 = performance.now();
      let upstream: Socket;
      try {
        upstream = await connectTo(inst, d.config.tryTimeoutMs);
      } catch (err) {
        call.done({ latencyMs: performance.now() - t0, failed: true });
        const c = classifyError(err);
        d.metrics.upstreamError(target.service, c.kind);
        lastError = new BeaconError('BEACON_ERR_GATEWAY_UPSTREAM', `Service ${target.service}: instance ${inst.id} failed (${errorCode(err as Error)})`);
        continue;
      }
      const connectMs = performance.now() - t0;
      if (socket.destroyed) {
        upstream.destroy();
        call.done({ latencyMs: connectMs, failed: false, aborted: true });
        return;
      }
      d.metrics.recordRequest(resolved.route, target.service, instanceLabel(inst), 101, (performance.now() - started) / 1000);
      upstream.setNoDelay(true);
      upstream.write(upgradeHead(req, resolved.path, 'http'));
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
      const end = () => {
        upstream.destroy();
        socket.destroy();
        call.done({ latencyMs: connectMs, failed: false });
      };
      upstream.once('close', end);
      socket.once('close', end);
      upstream.on('error', () => {});
      return;
    }
    const e = lastError ?? noInstance(target, prepared.snap, tried.size);
    d.metrics.recordRequest(resolved.route, target.service, '', e.status, (performance.now() - started) / 1000);
    throw e;
  }
}

function errorCode(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
}

/** Connects to an instance within `timeoutMs`. */
export function connectTo(inst: { address: string; port: number }, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: inst.address, port: inst.port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error(`connect timeout after ${timeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** An error answer written straight onto a socket (upgrade requests have no ServerResponse). */
function writeRawError(socket: Duplex, err: BeaconError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ code: err.code, message: err.message });
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-beacon-error: ${err.code}\r\nconnection: close\r\n\r\n${body}`,
  );
}
