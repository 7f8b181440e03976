import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Topic } from '../../catalog/index.js';
import type { HttpContext } from './context.js';
import type { FieldSpec } from './filter/index.js';
import { parseReadOptions, type Query, type ReadOptions } from './query.js';
import { ResponseCache } from './response-cache.js';

/** A read: the topics it depends on, the index of its data (O(1)), and its body. */
export interface ReadSpec {
  topics: readonly Topic[];
  index: () => number;
  body: (opts: ReadOptions) => unknown;
  /** The shape of the items `?filter=` runs over (filter-fields.ts). */
  filterFields?: FieldSpec;
  /** False for bodies that change without their index moving (agent/self's uptime): never cached. */
  cache?: boolean;
}

/**
 * Runs a read the way Consul's blocking queries do: with `?index=N` it returns as soon as the
 * data's index differs from N (moves past it, or goes backwards after a restore — the client
 * then resets), else after `wait` (+ up to wait/16 jitter) with the current result. The body
 * is built once, after waiting. Plain reads are stored in the response cache, keyed by URL and
 * valid while the index holds.
 */
export async function blockingRead(ctx: HttpContext, req: FastifyRequest, reply: FastifyReply, spec: ReadSpec): Promise<unknown> {
  const opts = parseReadOptions(req.query as Query, ctx.config.datacenter, spec.filterFields);
  if (opts.consistency === 'consistent') await ctx.catalog.catchUp();
  let index = spec.index();
  if (opts.index > 0 && index === opts.index) index = await waitForChange(ctx, reply, spec, opts);
  const body = spec.body(opts);
  const headerIndex = String(index > 0 ? index : 1);
  reply.header('X-Consul-Index', headerIndex);
  if (opts.consistency !== 'default') reply.header('X-Consul-Effective-Consistency', opts.consistency);
  // Serialized here, not by Fastify, so a JSON string body (status/leader) goes out quoted.
  const buf = Buffer.from(JSON.stringify(body));
  reply.type('application/json; charset=utf-8');
  if (spec.cache === false || !ResponseCache.cacheable(req.url) || ctx.shutdownSignal.aborted) return reply.send(buf);
  const route = req.routeOptions.url ?? 'unmatched';
  const counter = ctx.metrics.requests.labels(route, 'GET', '200');
  const latency = ctx.metrics.latency.labels(route, 'GET');
  ctx.responseCache.set(req.url, {
    index, currentIndex: spec.index, body: buf,
    headers: {
      'content-type': 'application/json; charset=utf-8', 'content-length': buf.length, 'x-consul-index': headerIndex,
      'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0', 'x-consul-default-acl-policy': 'allow',
    },
    onHit: (start) => {
      counter.inc();
      latency.observe(Number(process.hrtime.bigint() - start) / 1e9);
    },
  });
  return reply.send(buf);
}

/** How long a blocking query waits: `wait` plus a random jitter of up to wait/16, as Consul adds. */
export function jitteredWait(waitMs: number, random: () => number = Math.random): number {
  return waitMs + random() * (waitMs / 16);
}

async function waitForChange(ctx: HttpContext, reply: FastifyReply, spec: ReadSpec, opts: ReadOptions): Promise<number> {
  let index = spec.index();
  const deadline = Date.now() + jitteredWait(opts.waitMs);
  const abort = new AbortController();
  const onClose = () => abort.abort();
  reply.raw.once('close', onClose);
  if (ctx.shutdownSignal.aborted) abort.abort();
  ctx.shutdownSignal.addEventListener('abort', onClose, { once: true });
  ctx.metrics.blockingWaiting.inc();
  try {
    while (index === opts.index) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const why = await ctx.catalog.waitForChange(spec.topics, left, abort.signal);
      index = spec.index();
      if (why !== 'changed') break;
    }
  } finally {
    ctx.metrics.blockingWaiting.dec();
    reply.raw.off('close', onClose);
    ctx.shutdownSignal.removeEventListener('abort', onClose);
  }
  return index;
}
