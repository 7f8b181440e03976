/**
 * A rate limit on writes per client address (`--http-write-rate`, off by default): every PUT,
 * POST and DELETE becomes a store transaction, so one client looping over registrations could
 * take the store's whole write capacity from everyone else. Over the rate a write answers 429
 * `BEACON_ERR_RATE_LIMITED` with `Retry-After` (whole seconds) and changes nothing, and
 * `beacon_http_rate_limited_total` counts it. TTL heartbeats (`/v1/agent/check/pass|warn|fail|update`)
 * are not counted: they reset a timer in memory and write nothing. Reads are never limited
 * (their cost is bounded by the response cache and the per-client connection cap).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenBuckets } from '../../config/index.js';
import { BeaconError } from '../../errors/index.js';
import type { HttpContext } from './context.js';
import { sendError } from './replies.js';
import { sharedCounter } from './metrics.js';

const WRITES = new Set(['PUT', 'POST', 'DELETE', 'PATCH']);
const HEARTBEAT = /^\/v1\/agent\/check\/(pass|warn|fail|update)\//;

/** An onRequest hook enforcing `config.httpWriteRate`, or undefined when it is 0 (off). */
export function writeRateLimit(ctx: HttpContext): ((req: FastifyRequest, reply: FastifyReply, done: () => void) => void) | undefined {
  const rate = ctx.config.httpWriteRate;
  const limited = sharedCounter(
    ctx.metrics.registry,
    'beacon_http_rate_limited_total',
    'Writes answered 429 because their client address was over --http-write-rate.',
  );
  if (rate <= 0) return undefined;
  const buckets = new TokenBuckets(rate);
  return (req, reply, done) => {
    if (!WRITES.has(req.method) || HEARTBEAT.test(req.url)) return done();
    const waitMs = buckets.take(req.socket.remoteAddress ?? '');
    if (waitMs === 0) return done();
    limited.inc();
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    reply.header('Retry-After', String(seconds));
    void sendError(
      req,
      reply,
      new BeaconError('BEACON_ERR_RATE_LIMITED', `Too many writes from this client: the limit is ${rate} per second; retry in ${seconds} s`),
    );
  };
}
