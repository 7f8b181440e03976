import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Topic } from '../../catalog/index.js';
import { answersDegraded, HEALTHY_LEADER_HEADERS, leaderHeaders } from './leader-headers.js';
import type { HttpContext } from './context.js';
import type { FieldSpec } from './filter/index.js';
import { parseReadOptions, type Query, type ReadOptions } from './query.js';
import { ResponseCache, type CacheEntry } from './response-cache.js';
import { authzOf, filterBody, type AclFilterKind } from './acl.js';
import { encodeAnswer } from './serialize.js';

/** A read: the topics it depends on, the index of its data (O(1)), and its body. */
export interface ReadSpec {
  topics: readonly Topic[];
  index: () => number;
  body: (opts: ReadOptions) => unknown;
  /** The shape of the items `?filter=` runs over (filter-fields.ts). */
  filterFields?: FieldSpec;
  /** False for bodies that change without their index moving (agent/self's uptime): never cached or shared. */
  cache?: boolean;
  /** What the items of the body are, for dropping those the request's ACL token may not read. */
  acl?: AclFilterKind;
}

/**
 * Runs a read the way Consul's blocking queries do: with `?index=N` it returns as soon as the
 * data's index differs from N (moves past it, or goes backwards after a restore — the client
 * then resets), else after `wait` (+ up to wait/16 jitter) with the current result. A query
 * whose client went away while it waited is dropped without an answer.
 *
 * The answer is encoded once per shape (the URL without `index` and `wait`) and index, from
 * the records' pre-encoded JSON (serialize.ts), and kept in the response cache: every blocking
 * query of that shape woken by the same change sends the same bytes, and plain reads of a URL
 * asked for more than once are then answered before routing.
 *
 * The answer goes out as a cache hit does (status 200, the reply's headers with the read's own,
 * the body), not through Fastify's serializer and onSend hooks; `?pretty` answers and answers
 * during shutdown take Fastify's path, which formats them and closes the connection.
 */
export async function blockingRead(ctx: HttpContext, req: FastifyRequest, reply: FastifyReply, spec: ReadSpec): Promise<unknown> {
  const opts = parseReadOptions(req.query as Query, ctx.config.datacenter, spec.filterFields);
  if (opts.consistency === 'consistent') await ctx.catalog.catchUp();
  let index = spec.index();
  const blocking = opts.index > 0 && index === opts.index;
  const authz = authzOf(req);
  const filtering = authz !== undefined && !authz.allowsAll && spec.acl !== undefined;
  const shape =
    spec.cache !== false ? ResponseCache.keyOf(ResponseCache.shapeOf(req.url), authz === undefined || authz.id === 'anonymous' ? '' : authz.id) : '';
  if (blocking) {
    const woke = await waitForChange(ctx, reply, spec, opts);
    if (woke.clientGone) return reply.hijack();
    index = woke.index;
  }
  // Statuses not yet written show in answers but not in indexes: such answers are not shared or kept.
  // Blocking queries always share their answer (many wait on one shape); a plain read keeps it
  // once its shape has been asked for before.
  const share = spec.cache !== false && !ctx.shutdownSignal.aborted && !answersDegraded(ctx) && (blocking || ctx.responseCache.askedBefore(shape));
  let entry = share ? ctx.responseCache.answer(shape, index) : undefined;
  if (entry === undefined) {
    let data = spec.body(opts);
    let filtered = false;
    if (filtering) ({ body: data, filtered } = filterBody(spec.acl!, data, authz));
    const { text, bytes } = encodeAnswer(data);
    // Pure ASCII (most answers) is the same bytes in latin1, which Node encodes fastest.
    const encoding = bytes === text.length ? 'latin1' : 'utf8';
    // An answer not kept goes out as its text: the socket encodes it, no buffer is made for it.
    const policy = ctx.acl?.defaultPolicy ?? 'allow';
    if (!share) return send(ctx, req, reply, { text, encoding }, readHeaders(opts, index, bytes, policy, filtered));
    const body = Buffer.from(text, encoding);
    entry = cacheEntry(ctx, req, spec, opts, index, body, ResponseCache.cacheable(shape), policy, filtered);
    ctx.responseCache.set(shape, entry);
  }
  return send(ctx, req, reply, entry.body, entry.headers);
}

/** The headers of a read's answer (the reply's own, such as X-Consul-KnownLeader, are added when sent). */
function readHeaders(opts: ReadOptions, index: number, bytes: number, policy: string, filtered: boolean): Record<string, string | number> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'content-length': bytes,
    'x-consul-index': String(index > 0 ? index : 1),
    'x-consul-default-acl-policy': policy,
    ...(filtered ? { 'x-consul-results-filtered-by-acls': 'true' } : {}),
    ...(opts.consistency !== 'default' ? { 'x-consul-effective-consistency': opts.consistency } : {}),
  };
}

/** True when the query asks for `?pretty` (formatted by the app's onSend hook). */
function wantsPretty(req: FastifyRequest): boolean {
  const q = req.query;
  return q !== null && typeof q === 'object' && 'pretty' in q;
}

type Body = Buffer | { text: string; encoding: 'latin1' | 'utf8' };

function send(ctx: HttpContext, req: FastifyRequest, reply: FastifyReply, body: Body, headers: Record<string, string | number>): FastifyReply {
  if (ctx.shutdownSignal.aborted || wantsPretty(req)) {
    for (const k in headers) if (k !== 'content-length') reply.header(k, headers[k]);
    return reply.send(Buffer.isBuffer(body) ? body : Buffer.from(body.text, body.encoding));
  }
  const res = reply.raw;
  reply.hijack();
  res.writeHead(200, { ...reply.getHeaders(), ...headers, ...leaderHeaders(ctx) } as OutgoingHttpHeaders);
  if (Buffer.isBuffer(body)) res.end(body);
  else res.end(body.text, body.encoding);
  return reply;
}

function cacheEntry(
  ctx: HttpContext,
  req: FastifyRequest,
  spec: ReadSpec,
  opts: ReadOptions,
  index: number,
  body: Buffer,
  servable: boolean,
  policy: string,
  filtered: boolean,
): CacheEntry {
  const route = req.routeOptions.url ?? 'unmatched';
  return {
    index,
    currentIndex: spec.index,
    body,
    servable,
    headers: { ...readHeaders(opts, index, body.length, policy, filtered), ...HEALTHY_LEADER_HEADERS },
    onHit: (start) => ctx.metrics.record(route, 'GET', 200, Number(process.hrtime.bigint() - start) / 1e9),
  };
}

/** How long a blocking query waits: `wait` plus a random jitter of up to wait/16, as Consul adds. */
export function jitteredWait(waitMs: number, random: () => number = Math.random): number {
  return waitMs + random() * (waitMs / 16);
}

async function waitForChange(ctx: HttpContext, reply: FastifyReply, spec: ReadSpec, opts: ReadOptions): Promise<{ index: number; clientGone: boolean }> {
  let index = spec.index();
  const deadline = Date.now() + jitteredWait(opts.waitMs);
  const abort = new AbortController();
  let clientGone = false;
  // 'close' before the answer went out: the client disconnected (or the socket broke).
  const onClose = () => {
    clientGone = true;
    abort.abort();
  };
  reply.raw.once('close', onClose);
  if (ctx.shutdownSignal.aborted) abort.abort();
  const forget = onShutdown(ctx.shutdownSignal, () => abort.abort());
  ctx.metrics.blockingWaiting.inc();
  // A status decided but not yet written changes answers without moving an index: answer then too.
  const pendingAt = ctx.catalog.pendingVersion;
  try {
    while (index === opts.index) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const why = await ctx.catalog.waitForChange(spec.topics, left, abort.signal);
      index = spec.index();
      if (why !== 'changed' || ctx.catalog.pendingVersion !== pendingAt) break;
    }
  } finally {
    ctx.metrics.blockingWaiting.dec();
    reply.raw.off('close', onClose);
    forget();
  }
  return { index, clientGone };
}

/** What to run when a server's shutdown signal fires, per signal: one listener, however many wait. */
const shutdownHooks = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `fn` when `signal` aborts; returns a function that forgets it. An AbortSignal scans all
 * its listeners on every add, so a listener per blocking query made parking n queries O(n²).
 */
function onShutdown(signal: AbortSignal, fn: () => void): () => void {
  let hooks = shutdownHooks.get(signal);
  if (hooks === undefined) {
    const set = new Set<() => void>();
    shutdownHooks.set(signal, (hooks = set));
    signal.addEventListener(
      'abort',
      () => {
        for (const f of [...set]) f();
        set.clear();
      },
      { once: true },
    );
  }
  const registered = hooks;
  registered.add(fn);
  return () => void registered.delete(fn);
}
