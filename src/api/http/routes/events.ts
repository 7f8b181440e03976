import type { RouteOptions } from 'fastify';
import { BeaconError, invalid } from '../../../errors/index.js';
import { EVENT_KINDS, type EventFilter, type EventKind, type StreamFormat } from '../../../events/index.js';
import type { HttpContext } from '../context.js';
import { boolParam, checkDatacenter, one } from '../query.js';
import { queryOf } from './shared.js';

const PARAMS = new Set(['since', 'service', 'node', 'kind', 'follow', 'dc', 'pretty']);
const MAX_NAME = 512;

function name(q: Record<string, string | string[] | undefined>, field: string): string | undefined {
  const v = q[field];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw invalid(field, `Invalid ${field}: give it once`);
  if (v === '' || v.length > MAX_NAME) throw invalid(field, `Invalid ${field}: must be 1 to ${MAX_NAME} characters`);
  return v;
}

/** Reads and checks every parameter of an events request; throws naming the field. */
export function parseEventsQuery(
  q: Record<string, string | string[] | undefined>,
  lastEventId: string | undefined,
): { filter: EventFilter; since: number | undefined; follow: boolean } {
  for (const k of Object.keys(q)) if (!PARAMS.has(k)) throw invalid(k, `Unknown parameter "${k}" (known: since, service, node, kind, follow, dc)`);
  let since: number | undefined;
  // A browser's EventSource reconnects to the URL it started with, adding Last-Event-ID: that
  // header is the newer position, so it wins over ?since.
  const raw = lastEventId ?? one(q, 'since');
  const field = lastEventId !== undefined ? 'Last-Event-ID' : 'since';
  if (raw !== undefined) {
    if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw)))
      throw invalid(field, `Invalid ${field}: "${raw.slice(0, 64)}" is not a revision (a whole number)`);
    since = Number(raw);
  }
  let kinds: Set<EventKind> | undefined;
  const kindParam = q.kind;
  if (kindParam !== undefined) {
    kinds = new Set();
    for (const k of (Array.isArray(kindParam) ? kindParam : [kindParam]).flatMap((v) => v.split(','))) {
      if (!EVENT_KINDS.includes(k as EventKind)) throw invalid('kind', `Invalid kind: "${k.slice(0, 64)}" (use one of ${EVENT_KINDS.join(', ')})`);
      kinds.add(k as EventKind);
    }
  }
  const service = name(q, 'service');
  const node = name(q, 'node');
  const follow = q.follow === undefined ? true : boolParam(q, 'follow');
  return { filter: { ...(service ? { service } : {}), ...(node ? { node } : {}), ...(kinds ? { kinds } : {}) }, since, follow };
}

/**
 * GET /v1/beacon/events?since=&service=&node=&kind=&follow= — the event stream: what the
 * history holds after `since` (or everything it holds), then every new event. JSON lines by
 * default; server-sent events when the request accepts text/event-stream (`id:` is the
 * revision, and `Last-Event-ID` resumes). `follow=false` answers what is held and ends.
 */
export function eventsRoutes(ctx: HttpContext): RouteOptions[] {
  return [
    {
      method: 'GET',
      url: '/v1/beacon/events',
      handler: async (req, reply) => {
        const events = ctx.events;
        if (!events) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'this process keeps no event history');
        const q = queryOf(req);
        checkDatacenter(q, ctx.config.datacenter);
        const lastEventId = req.headers['last-event-id'];
        const { filter, since, follow } = parseEventsQuery(q, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined);
        const format: StreamFormat = String(req.headers.accept ?? '').includes('text/event-stream') ? 'sse' : 'ndjson';
        reply.hijack();
        const raw = reply.raw;
        for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) raw.setHeader(k, v);
        raw.writeHead(200, {
          'Content-Type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
          'Cache-Control': 'no-store',
          'X-Accel-Buffering': 'no',
          'X-Consul-Index': String(Math.max(1, ctx.catalog.revision)),
        });
        raw.flushHeaders();
        await events.follow(raw, { format, filter, since, follow, signal: ctx.shutdownSignal });
      },
    },
  ];
}
