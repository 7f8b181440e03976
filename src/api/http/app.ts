import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import client from 'prom-client';
import { BeaconError } from '../../errors/index.js';
import { parseJsonBody } from './body.js';
import type { HttpContext } from './context.js';
import { heartbeatFastPath } from './fast-heartbeat.js';
import { sharedCounter } from './metrics.js';
import { answersDegraded, leaderHeaders } from './leader-headers.js';
import { defaultConnectionLimits, limitConnections } from './connection-limits.js';
import { clientErrorHandler, commonHeaders, connectRefused, expectationFailed, refuseWithoutHost } from './protocol-errors.js';
import { isBeaconRoute, sendError, toBeaconError } from './replies.js';
import { unsupportedConsulApi } from './unsupported.js';
import { writeRateLimit } from './write-rate-limit.js';
import { aclHooks, cacheIdentity } from './acl.js';
import { aclRoutes } from './routes/acl.js';
import { createTlsServer } from './tls.js';
import { agentRoutes } from './routes/agent.js';
import { catalogRoutes } from './routes/catalog.js';
import { healthRoutes } from './routes/health.js';
import { statusRoutes } from './routes/status.js';
import { clusterRoutes } from './routes/cluster.js';
import { metricsRoutes } from './routes/metrics.js';
import { pickRoutes } from './routes/pick.js';
import { checksRoutes } from './routes/checks.js';
import { wanRoutes } from './routes/wan.js';
import { queryRoutes } from './routes/query.js';
import { wanForwardHook } from './wan-forward.js';
import { eventsRoutes } from './routes/events.js';

function registerCacheMetrics(ctx: HttpContext): void {
  const { registry } = ctx.metrics;
  if (registry.getSingleMetric('beacon_http_response_cache_hits_total')) return;
  let hits = 0;
  let misses = 0;
  new client.Counter({
    name: 'beacon_http_response_cache_hits_total',
    help: 'Plain reads answered from the response cache, before routing.',
    registers: [registry],
    collect() {
      this.inc(ctx.responseCache.hits - hits);
      hits = ctx.responseCache.hits;
    },
  });
  new client.Counter({
    name: 'beacon_http_response_cache_stale_total',
    help: 'Cached answers found stale (their data changed) and rebuilt.',
    registers: [registry],
    collect() {
      this.inc(ctx.responseCache.misses - misses);
      misses = ctx.responseCache.misses;
    },
  });
  new client.Gauge({
    name: 'beacon_http_response_cache_entries',
    help: 'Answers in the response cache.',
    registers: [registry],
    collect() {
      this.set(ctx.responseCache.size);
    },
  });
  new client.Gauge({
    name: 'beacon_http_response_cache_bytes',
    help: 'Bytes the answers in the response cache take (bounded at 64 MiB).',
    registers: [registry],
    collect() {
      this.set(ctx.responseCache.bytes);
    },
  });
}

/** A route module returns its routes; the app adds 405 answers for the other methods. */
export type RouteModule = (ctx: HttpContext) => RouteOptions[];

const ALL_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * Builds the Fastify app: Consul's v1 routes, JSON bodies under any content type, 400s naming
 * the field, 404 with an empty body for unknown paths, 405 + Allow for a wrong method, and
 * `BEACON_ERR_SHUTTING_DOWN` (503, retryable) for every request that arrives once shutdown began.
 * Every error, those of Node's parser and Fastify's router included, carries `X-Beacon-Error`.
 */
export function createHttpApp(ctx: HttpContext, extra: RouteModule[] = []): FastifyInstance {
  // Set when the app starts closing; the server's shutdown signal usually fires just before.
  let closing = false;
  const shuttingDown = () => closing || ctx.shutdownSignal.aborted;
  const heartbeat = heartbeatFastPath(ctx);
  const protocolErrors = sharedCounter(
    ctx.metrics.registry,
    'beacon_http_protocol_errors_total',
    "Requests Node's HTTP parser refused before routing, by status: 400 malformed, 408 headers not in time, 431 headers too large.",
    ['code'],
  );
  const revision = () => ctx.catalog.revision;
  const tlsErrors = sharedCounter(
    ctx.metrics.registry,
    'beacon_http_tls_handshake_errors_total',
    'HTTPS connections that failed their TLS handshake (no or an untrusted client certificate, no shared protocol, not TLS at all).',
  );
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.config.maxBodyBytes,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Requests during shutdown get Beacon's own retryable error (the onRequest hook below),
    // not Fastify's JSON 503, which carries no code and which Consul clients would show as is.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    // Cached answers of plain reads go out before routing (response-cache.ts).
    serverFactory: (handler) => {
      const noHost = refuseWithoutHost(revision);
      // Headers must arrive within 10 s of the connection (or of the last request, for a kept-alive
      // one), checked every second: Node's defaults (60 s, checked every 30 s) let idle and
      // slow-header sockets pile up.
      const options = { requireHostHeader: false, headersTimeout: 10_000, connectionsCheckingInterval: 1000 };
      const serve = (req: IncomingMessage, res: ServerResponse) => {
        if (noHost(req, res)) return;
        if (shuttingDown() || !((!answersDegraded(ctx) && ctx.responseCache.tryServe(req, res)) || heartbeat(req, res))) handler(req, res);
      };
      const tls = ctx.config.tls;
      const server = tls ? createTlsServer(tls, options, serve) : createServer(options, serve);
      if (tls) server.on('tlsClientError', () => tlsErrors.inc());
      limitConnections(server, defaultConnectionLimits(ctx.config.httpMaxConnsPerClient), ctx.metrics.registry);
      server.on('checkExpectation', expectationFailed(revision));
      server.on('connect', connectRefused(revision));
      return server;
    },
    // What Node's parser refuses (bad request line or chunked body, headers too large) and what
    // the router cannot decode (a bad %-escape, an over-long parameter) answer in Beacon's form
    // too, not with Node's or Fastify's own JSON.
    clientErrorHandler: clientErrorHandler(revision, (status) => protocolErrors.inc({ code: String(status) })),
    frameworkErrors: (err, req, reply) => {
      reply.headers(commonHeaders(revision()));
      void sendError(req, reply, toBeaconError(err, req.url));
    },
  });

  registerCacheMetrics(ctx);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const defaultPolicy = ctx.acl?.defaultPolicy ?? 'allow';
  // ?dc= naming another datacenter: its servers answer (wan-forward.ts).
  app.addHook('onRequest', wanForwardHook(ctx));
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(leaderHeaders(ctx));
    reply.header('X-Consul-Default-ACL-Policy', defaultPolicy);
    done();
  });

  // Once shutdown began, a new request (on a new connection, or on a kept-alive one that was
  // busy when close started) takes no new work: it gets BEACON_ERR_SHUTTING_DOWN in the route's
  // error form, and clients retry elsewhere or later. Requests already running finish normally.
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_req, _reply, done) => {
    if (shuttingDown()) return done(new BeaconError('BEACON_ERR_SHUTTING_DOWN', 'Server is shutting down'));
    done();
  });

  // ACLs: the token is resolved before anything else is done for the request; the route's
  // rule is checked once its body is parsed (acl.ts). Answers kept for one token are not
  // served to another, and are dropped when tokens or policies change.
  if (ctx.acl) {
    const hooks = aclHooks(ctx, ctx.acl);
    app.addHook('onRequest', hooks.onRequest);
    app.addHook('preHandler', hooks.preHandler);
    ctx.responseCache.identity = cacheIdentity(ctx.acl);
    ctx.acl.onChange(() => ctx.responseCache.clear());
  }

  const writeLimit = writeRateLimit(ctx);
  if (writeLimit) app.addHook('onRequest', writeLimit);

  // A part of Consul's API Beacon does not have (/v1/kv, /v1/session, ...): one line saying so,
  // before any body is parsed (a KV value is not JSON and would otherwise answer 400).
  app.addHook('onRequest', (req, reply, done) => {
    const what = req.is404 ? unsupportedConsulApi(req.url) : undefined;
    if (what === undefined) return done();
    void sendError(req, reply, new BeaconError('BEACON_ERR_NOT_FOUND', what));
  });

  app.addHook('onResponse', (req, reply, done) => {
    ctx.metrics.record(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.addHook('onSend', (req, reply, payload, done) => {
    // While shutting down, answers close their connection so the server is not held open by
    // keep-alive connections that were busy (e.g. a blocking query) when close began.
    if (shuttingDown()) reply.header('Connection', 'close');
    // Every answer, errors and writes included, carries an index; reads set their data's own.
    if (!reply.hasHeader('x-consul-index')) reply.header('X-Consul-Index', String(Math.max(1, ctx.catalog.revision)));
    if (req.query && typeof req.query === 'object' && 'pretty' in req.query && String(reply.getHeader('content-type') ?? '').startsWith('application/json')) {
      // Decoded only here: on every other answer a Buffer payload goes out untouched.
      const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '';
      if (text) {
        try {
          return done(null, JSON.stringify(JSON.parse(text), null, 4));
        } catch {
          /* not JSON after all: send as is */
        }
      }
    }
    done(null, payload);
  });

  app.setErrorHandler((err, req, reply) => {
    const be = toBeaconError(err);
    if (be.code === 'BEACON_ERR_INTERNAL') ctx.logger.error({ err, url: req.url }, 'request failed');
    return sendError(req, reply, be);
  });

  // Unknown paths: an empty 404, as Consul answers; Beacon's own routes answer JSON.
  app.setNotFoundHandler((req, reply) => {
    if (isBeaconRoute(req.url))
      return sendError(req, reply, new BeaconError('BEACON_ERR_NOT_FOUND', `No route for ${req.method} ${req.url.split('?')[0].slice(0, 256)}`));
    return reply.code(404).header('X-Beacon-Error', 'BEACON_ERR_NOT_FOUND').send();
  });

  const modules = [
    aclRoutes,
    agentRoutes,
    catalogRoutes,
    healthRoutes,
    statusRoutes,
    metricsRoutes,
    pickRoutes,
    checksRoutes,
    clusterRoutes,
    wanRoutes,
    queryRoutes,
    eventsRoutes,
    ...extra,
  ];
  const methodsByUrl = new Map<string, Set<string>>();
  for (const mod of modules) {
    for (const r of mod(ctx)) {
      app.route(r);
      const set = methodsByUrl.get(r.url) ?? new Set<string>();
      for (const m of [r.method].flat()) set.add(m);
      methodsByUrl.set(r.url, set);
    }
  }
  for (const [url, allowed] of methodsByUrl) {
    const others = ALL_METHODS.filter((m) => !allowed.has(m));
    const allow = [...allowed].join(', ');
    app.route({
      method: others,
      url,
      handler: async (req, reply) => {
        reply.header('Allow', allow);
        if (req.method === 'OPTIONS') return reply.code(200).send();
        return sendError(req, reply, new BeaconError('BEACON_ERR_METHOD_NOT_ALLOWED', `method ${req.method} not allowed`));
      },
    });
  }
  return app;
}
