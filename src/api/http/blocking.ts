import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Topic } from '../../catalog/index.js';
import type { HttpContext } from './context.js';
import { parseReadOptions, type Query, type ReadOptions } from './query.js';

export interface QueryResult {
  index: number;
  body: unknown;
}

/**
 * Runs a read the way Consul's blocking queries do: with `?index=N` it returns as soon as the
 * result's index differs from N (moves past it, or goes backwards after a restore — the client
 * then resets), else after `wait` (+ up to wait/16 jitter) with the current result.
 * `compute` runs from memory; it is re-run only when one of the topics changes.
 */
export async function blockingRead(
  ctx: HttpContext,
  req: FastifyRequest,
  reply: FastifyReply,
  topics: readonly Topic[],
  compute: (opts: ReadOptions) => QueryResult,
): Promise<unknown> {
  const opts = parseReadOptions(req.query as Query, ctx.config.datacenter);
  if (opts.consistency === 'consistent') await ctx.catalog.catchUp();
  let r = compute(opts);
  if (opts.index > 0 && r.index === opts.index) {
    const deadline = Date.now() + opts.waitMs + Math.random() * (opts.waitMs / 16);
    const abort = new AbortController();
    const onClose = () => abort.abort();
    reply.raw.once('close', onClose);
    if (ctx.shutdownSignal.aborted) abort.abort();
    ctx.shutdownSignal.addEventListener('abort', onClose, { once: true });
    ctx.metrics.blockingWaiting.inc();
    try {
      while (r.index === opts.index) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const why = await ctx.catalog.waitForChange(topics, left, abort.signal);
        if (why === 'aborted') break;
        r = compute(opts);
        if (why === 'timeout') break;
      }
    } finally {
      ctx.metrics.blockingWaiting.dec();
      reply.raw.off('close', onClose);
      ctx.shutdownSignal.removeEventListener('abort', onClose);
    }
  }
  reply.header('X-Consul-Index', String(r.index > 0 ? r.index : 1));
  if (opts.consistency !== 'default') reply.header('X-Consul-Effective-Consistency', opts.consistency);
  return r.body;
}
