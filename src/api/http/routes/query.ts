import type { FastifyReply, RouteOptions } from 'fastify';
import { parseDuration } from '../../../config/index.js';
import { BeaconError, invalid } from '../../../errors/index.js';
import { isQueryId, type PreparedQueries, type PreparedQuery, type PreparedQueryDefinition } from '../../../catalog/index.js';
import { executeQuery, type HealthEntryLike } from '../../../cluster/index.js';
import type { HttpContext } from '../context.js';
import { one, type Query } from '../query.js';
import { healthEntryJson } from '../serialize.js';
import { param, queryOf } from './shared.js';

const DC = '^[a-zA-Z0-9_.-]{1,63}$';
const meta = { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 512 } } as const;
const strings = (max: number) => ({ type: 'array', maxItems: 64, items: { type: 'string', maxLength: max } }) as const;

/** The body of POST /v1/query and PUT /v1/query/:id (Consul's fields; templates are not taken). */
export const preparedQuerySchema = {
  type: 'object',
  required: ['Service'],
  properties: {
    ID: { type: 'string', maxLength: 36 },
    Name: { type: 'string', maxLength: 256 },
    Session: { type: 'string', maxLength: 128 },
    Token: { type: 'string', maxLength: 256 },
    Service: {
      type: 'object',
      required: ['Service'],
      properties: {
        Service: { type: 'string', minLength: 1, maxLength: 256 },
        Failover: {
          type: 'object',
          properties: {
            NearestN: { type: 'integer', minimum: 0, maximum: 64 },
            Datacenters: { type: 'array', maxItems: 64, items: { type: 'string', pattern: DC } },
          },
        },
        OnlyPassing: { type: 'boolean' },
        IgnoreCheckIDs: strings(256),
        Near: { type: 'string', maxLength: 128 },
        Tags: strings(256),
        NodeMeta: meta,
        ServiceMeta: meta,
        Connect: { type: 'object', properties: { Enabled: { type: 'boolean' } } },
      },
    },
    DNS: { type: 'object', properties: { TTL: { type: 'string', maxLength: 32 } } },
  },
} as const;

const TOP = new Set(['ID', 'Name', 'Session', 'Token', 'Service', 'DNS', 'Template']);
const SERVICE = new Set([
  'Service',
  'Failover',
  'OnlyPassing',
  'IgnoreCheckIDs',
  'Near',
  'Tags',
  'NodeMeta',
  'ServiceMeta',
  'Connect',
  'Peer',
  'SamenessGroup',
]);

function unknownField(obj: Record<string, unknown>, allowed: Set<string>, prefix: string): void {
  for (const k of Object.keys(obj)) if (!allowed.has(k)) throw invalid(`${prefix}${k}`, `Invalid ${prefix}${k}: not a prepared query field`);
}

/** A validated body → the stored definition (defaults filled in). */
export function toDefinition(body: Record<string, unknown>): PreparedQueryDefinition {
  unknownField(body, TOP, '');
  if (body.Template !== undefined) throw invalid('Template', 'Invalid Template: prepared query templates are not supported');
  const svc = body.Service as Record<string, unknown>;
  unknownField(svc, SERVICE, 'Service.');
  if ((svc.Connect as { Enabled?: boolean } | undefined)?.Enabled)
    throw invalid('Service.Connect.Enabled', 'Invalid Service.Connect.Enabled: Connect is not supported');
  if (svc.Peer || svc.SamenessGroup) throw invalid(svc.Peer ? 'Service.Peer' : 'Service.SamenessGroup', 'Invalid field: cluster peering is not supported');
  const name = (body.Name as string | undefined) ?? '';
  if (isQueryId(name)) throw invalid('Name', 'Invalid Name: a prepared query name may not look like an ID (a UUID)');
  const ttl = ((body.DNS as { TTL?: string } | undefined)?.TTL ?? '').trim();
  if (ttl !== '') {
    const ms = parseDuration(ttl);
    if (ms === undefined || ms < 0 || ms > 86_400_000) throw invalid('DNS.TTL', `Invalid DNS.TTL: "${ttl}" must be a duration like 10s (0s to 24h)`);
  }
  const failover = (svc.Failover ?? {}) as { NearestN?: number; Datacenters?: string[] };
  const tags = (svc.Tags as string[] | undefined) ?? [];
  for (const t of tags) if (t === '' || t === '!') throw invalid('Service.Tags', `Invalid Service.Tags: "${t}" is not a tag`);
  return {
    Name: name,
    Session: (body.Session as string | undefined) ?? '',
    Token: (body.Token as string | undefined) ?? '',
    Service: {
      Service: svc.Service as string,
      Failover: { NearestN: failover.NearestN ?? 0, Datacenters: failover.Datacenters ?? [] },
      OnlyPassing: (svc.OnlyPassing as boolean | undefined) ?? false,
      IgnoreCheckIDs: (svc.IgnoreCheckIDs as string[] | undefined) ?? [],
      Near: (svc.Near as string | undefined) ?? '',
      Tags: tags,
      NodeMeta: (svc.NodeMeta as Record<string, string> | undefined) ?? {},
      ServiceMeta: (svc.ServiceMeta as Record<string, string> | undefined) ?? {},
    },
    DNS: { TTL: ttl },
  };
}

/** A query as GET /v1/query shows it (the token hidden). */
export function queryJson(q: PreparedQuery): unknown {
  return {
    ID: q.ID,
    Name: q.Name,
    Session: q.Session,
    Token: q.Token === '' ? '' : '<hidden>',
    Service: { ...q.Service, Connect: { Enabled: false } },
    DNS: q.DNS,
    RaftIndex: { CreateIndex: q.CreateIndex, ModifyIndex: q.ModifyIndex },
    CreateIndex: q.CreateIndex,
    ModifyIndex: q.ModifyIndex,
  };
}

function limitParam(q: Query): number {
  const raw = one(q, 'limit');
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,9}$/.test(raw)) throw invalid('limit', `Invalid limit: "${raw}" is not a non-negative integer`);
  return Number(raw);
}

/**
 * Runs a prepared query here: this datacenter first, then its failover datacenters over the WAN.
 * Shared by the HTTP execute route and the DNS `<query>.query` names.
 */
export async function runPreparedQuery(ctx: HttpContext, q: PreparedQuery, limit: number) {
  const fed = ctx.federation;
  return executeQuery<HealthEntryLike>(
    q,
    {
      local: ctx.config.datacenter,
      localEntries: (service) => ctx.catalog.instances(service).value.map(healthEntryJson),
      datacenters: () => fed?.datacenters() ?? [ctx.config.datacenter],
      known: (dc) => fed?.table.has(dc) ?? false,
      remoteEntries: (dc, service) => (fed ? fed.remoteHealth<HealthEntryLike>(dc, service) : Promise.reject(new Error('no WAN'))),
    },
    limit,
  );
}

/**
 * Consul's prepared queries: `POST /v1/query` (answers `{"ID": …}`), `GET /v1/query`,
 * `GET|PUT|DELETE /v1/query/:id`, `GET /v1/query/:id-or-name/execute` and `/explain`. Definitions are stored
 * (every server of the datacenter sees them); `?dc=` naming another datacenter is answered
 * there (forwarded).
 */
export function queryRoutes(ctx: HttpContext): RouteOptions[] {
  const queries = (): PreparedQueries => {
    if (!ctx.queries) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'prepared queries are not available on this server');
    return ctx.queries;
  };
  const indexed = (reply: FastifyReply) => reply.header('X-Consul-Index', String(Math.max(1, queries().revision)));
  const find = (idOrName: string): PreparedQuery => {
    const q = queries().resolve(idOrName);
    if (!q) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'Query not found', { field: 'id' });
    return q;
  };
  return [
    {
      method: 'POST',
      url: '/v1/query',
      schema: { body: preparedQuerySchema },
      handler: async (req) => {
        const def = toDefinition(req.body as Record<string, unknown>);
        if ((req.body as { ID?: string }).ID) throw invalid('ID', 'Invalid ID: an ID may not be given when creating a prepared query');
        return { ID: await queries().create(def) };
      },
    },
    {
      method: 'GET',
      url: '/v1/query',
      handler: (_req, reply) => {
        indexed(reply);
        return reply.send(queries().list().map(queryJson));
      },
    },
    {
      method: 'GET',
      url: '/v1/query/:id',
      handler: (req, reply) => {
        const q = find(param(req, 'id'));
        indexed(reply);
        return reply.send([queryJson(q)]);
      },
    },
    {
      method: 'PUT',
      url: '/v1/query/:id',
      schema: { body: preparedQuerySchema },
      handler: async (req, reply) => {
        const id = param(req, 'id');
        const bodyId = (req.body as { ID?: string }).ID;
        if (bodyId && bodyId !== id) throw invalid('ID', `Invalid ID: the body's ID "${bodyId}" does not match the path's "${id}"`);
        await queries().update(find(id).ID, toDefinition(req.body as Record<string, unknown>));
        return reply.code(200).send();
      },
    },
    {
      method: 'DELETE',
      url: '/v1/query/:id',
      handler: async (req, reply) => {
        await queries().delete(find(param(req, 'id')).ID);
        return reply.code(200).send();
      },
    },
    {
      method: 'GET',
      url: '/v1/query/:id/explain',
      handler: (req, reply) => {
        const q = find(param(req, 'id'));
        indexed(reply);
        // No templates: the query as stored is the query as run.
        return reply.send({ Query: queryJson(q) });
      },
    },
    {
      method: 'GET',
      url: '/v1/query/:id/execute',
      handler: async (req, reply) => {
        const q = find(param(req, 'id'));
        const limit = limitParam(queryOf(req));
        const r = await runPreparedQuery(ctx, q, limit);
        indexed(reply);
        return reply.send({
          Service: q.Service.Service,
          Nodes: r.Nodes,
          DNS: { TTL: q.DNS.TTL },
          Datacenter: r.Datacenter,
          Failovers: r.Failovers,
        });
      },
    },
  ];
}
