import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { parseDuration } from '../../config/index.js';
import { BeaconError, invalid } from '../../errors/index.js';
import { FORWARDED_HEADER } from '../../cluster/index.js';
import type { HttpContext } from './context.js';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS, one, type Query } from './query.js';
import { sendError } from './replies.js';

/** A plain (non-blocking) forwarded request may take this long, every try included. */
export const FORWARD_TIMEOUT_MS = 10_000;
/** A forwarded blocking query may take its wait, the remote's jitter (wait/16) and this much more. */
export const BLOCKING_MARGIN_MS = 5_000;

/** Paths that always answer here: this node's agent, Beacon's server-to-server routes, metrics (pick is a read: forwarded). */
const LOCAL_ONLY = /^\/(v1\/agent\/|v1\/beacon\/(?!pick\/)|metrics|ui)/;

const REQUEST_HEADERS = ['content-type', 'accept', 'x-consul-token', 'authorization', 'cache-control', 'x-request-id'];

/** How long a forward of this request may take: a blocking query's wait plus margins, else a fixed bound. */
export function forwardTimeoutMs(q: Query): { timeoutMs: number; blocking: boolean } {
  const index = one(q, 'index');
  if (index === undefined || index === '' || index === '0') return { timeoutMs: FORWARD_TIMEOUT_MS, blocking: false };
  const raw = one(q, 'wait');
  let wait = DEFAULT_WAIT_MS;
  if (raw !== undefined && raw !== '') {
    const ms = parseDuration(raw);
    if (ms === undefined) throw invalid('wait', `Invalid wait time: "${raw}" (use a duration such as 30s, 5m or 120000ms)`);
    wait = ms <= 0 ? DEFAULT_WAIT_MS : Math.min(ms, MAX_WAIT_MS);
  }
  return { timeoutMs: Math.ceil(wait + wait / 16 + BLOCKING_MARGIN_MS), blocking: true };
}

async function readBody(req: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req.raw as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new BeaconError('BEACON_ERR_BODY_TOO_LARGE', 'Request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/**
 * `?dc=` naming another datacenter joined over the WAN: the request (reads, blocking ones with
 * their index and wait, and writes) goes to a live server of that datacenter and its answer,
 * status, body and X-Consul-* headers, comes back as is. The local datacenter, an unknown one
 * (the route answers "No path to datacenter") and the agent's own routes stay here. A request
 * that was itself forwarded is never sent on again.
 */
export function wanForwardHook(ctx: HttpContext): onRequestAsyncHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const fed = ctx.federation;
    const q = req.query as Query | undefined;
    const dc = q ? one(q, 'dc') : undefined;
    if (!fed || dc === undefined || dc === '' || dc === ctx.config.datacenter || !fed.table.has(dc) || req.headers[FORWARDED_HEADER] !== undefined) {
      return;
    }
    const path = req.url;
    if (LOCAL_ONLY.test(path.slice(0, 24))) return;
    {
      try {
        const { timeoutMs, blocking } = forwardTimeoutMs(q as Query);
        const body = await readBody(req, ctx.config.maxBodyBytes);
        const headers: Record<string, string> = {};
        for (const h of REQUEST_HEADERS) {
          const v = req.headers[h];
          if (typeof v === 'string') headers[h] = v;
        }
        // The client going away ends the forward too (a blocking query held open for nothing).
        const gone = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableEnded) gone.abort();
        };
        reply.raw.once('close', onClose);
        try {
          const res = await fed.forwarder.forward(dc, { method: req.method, url: path, headers, body, timeoutMs, blocking, signal: gone.signal });
          reply.code(res.statusCode);
          for (const [k, v] of Object.entries(res.headers)) reply.header(k, v);
          return await reply.send(res.body);
        } finally {
          reply.raw.off('close', onClose);
        }
      } catch (err) {
        return sendError(req, reply, err instanceof BeaconError ? err : new BeaconError('BEACON_ERR_INTERNAL', (err as Error).message, { cause: err }));
      }
    }
  };
}

/**
 * A catalog write whose body names another datacenter (`"Datacenter": "dc2"`, as Consul's
 * catalog register and deregister take it) is sent there, as `?dc=` would be. Resolves true
 * when it was (the reply is sent), false when the body's datacenter is this one, unknown
 * (the route answers "No path to datacenter") or the request was itself forwarded.
 */
export async function forwardByBody(ctx: HttpContext, req: FastifyRequest, reply: FastifyReply, dc: string): Promise<boolean> {
  const fed = ctx.federation;
  if (!fed || dc === '' || dc === ctx.config.datacenter || !fed.table.has(dc) || req.headers[FORWARDED_HEADER] !== undefined) return false;
  const res = await fed.forwarder.forward(dc, {
    method: req.method,
    url: req.url,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(req.body)),
    timeoutMs: FORWARD_TIMEOUT_MS,
  });
  reply.code(res.statusCode);
  for (const [k, v] of Object.entries(res.headers)) reply.header(k, v);
  await reply.send(res.body);
  return true;
}
