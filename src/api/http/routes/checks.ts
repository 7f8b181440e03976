/**
 * Consul's agent check and maintenance routes: check register/deregister/list, TTL updates
 * (pass/warn/fail/update), service and node maintenance, and the agent's local health
 * endpoints (/v1/agent/health/service/id/:id and /name/:name). Everything acts on this node
 * through ctx.local (a server's own node, or an agent's).
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { AggregatedStatus, HealthStatus, InstanceView } from '../../../catalog/index.js';
import { parseBool } from '../../../config/index.js';
import { BeaconError, invalid } from '../../../errors/index.js';
import { blockingRead } from '../blocking.js';
import type { HttpContext } from '../context.js';
import { CHECK_SHAPE, CHECK_UPDATE_SHAPE } from '../normalize.js';
import { checkDatacenter, one } from '../query.js';
import { buildAgentCheck } from '../../../catalog/index.js';
import { checkSchema } from '../schemas.js';
import { agentServiceJson, checkJson } from '../serialize.js';
import { CHECK_FIELDS } from '../filter-fields.js';
import { applyFilter, missingParam, normalizeBody, ok, pathId, queryOf } from './shared.js';

const STATUSES: readonly string[] = ['passing', 'warning', 'critical'];

const updateSchema = {
  type: 'object',
  properties: { Status: { type: 'string', maxLength: 32 }, Output: { type: 'string', maxLength: 65536 } },
} as const;

/** Go's strconv.ParseBool, as Consul reads ?enable=. */
function parseEnable(req: FastifyRequest): boolean {
  const raw = one(queryOf(req), 'enable');
  if (raw === undefined) throw invalid('enable', 'Missing value for enable');
  const on = parseBool(raw);
  if (on === undefined) throw invalid('enable', `Invalid value for enable: ${JSON.stringify(raw)}`);
  return on;
}

/** Consul answers agent health as 200 passing, 429 warning, 503 critical or maintenance. */
const codeOf = (s: AggregatedStatus): number => (s === 'passing' ? 200 : s === 'warning' ? 429 : 503);

/** Plain text when asked by ?format=text or an Accept header starting with text/plain. */
function wantsText(req: FastifyRequest): boolean {
  if (String(req.headers.accept ?? '').startsWith('text/plain')) return true;
  const f = one(queryOf(req), 'format');
  return f !== undefined && f !== '' && f === 'text';
}

export function checksRoutes(ctx: HttpContext): RouteOptions[] {
  const { catalog, config, local } = ctx;
  const dc = config.datacenter;

  const ttlRoute = (verb: 'pass' | 'warn' | 'fail', status: HealthStatus): RouteOptions => ({
    method: 'PUT',
    url: `/v1/agent/check/${verb}/*`,
    handler: async (req, reply) => {
      const q = queryOf(req);
      checkDatacenter(q, dc);
      await local.updateTtl(pathId(req), status, one(q, 'note') ?? '');
      return ok(reply);
    },
  });

  const agentHealth = (req: FastifyRequest, reply: FastifyReply, code: number, text: string, json: unknown) => {
    if (wantsText(req)) return reply.code(code).type('text/plain; charset=utf-8').send(text);
    return reply.code(code).type('application/json').send(JSON.stringify(json));
  };
  const instanceHealth = (i: InstanceView) => ({
    AggregatedStatus: i.status,
    Service: agentServiceJson(i.service, dc),
    Checks: i.checks.map(checkJson),
  });

  /** The route without its ID: 400 naming it. */
  const missingId = (url: string, what: string): RouteOptions => missingParam(url, 'id', `Missing ${what} in the path`, 'PUT');

  return [
    ...['pass', 'warn', 'fail', 'update', 'deregister'].map((verb) => missingId(`/v1/agent/check/${verb}`, 'check ID')),
    missingId('/v1/agent/service/maintenance', 'service ID'),
    {
      method: 'PUT',
      url: '/v1/agent/check/register',
      schema: { body: checkSchema },
      preValidation: [normalizeBody(CHECK_SHAPE)],
      handler: async (req, reply) => {
        checkDatacenter(queryOf(req), dc);
        const b = req.body as Record<string, unknown>;
        // The body schema makes Status a string when present.
        if (b.Status !== undefined && b.Status !== '' && (typeof b.Status !== 'string' || !STATUSES.includes(b.Status)))
          throw invalid('Status', 'Bad check status');
        const serviceId = typeof b.ServiceID === 'string' ? b.ServiceID : '';
        const inst = serviceId ? local.service(serviceId) : undefined;
        if (serviceId && !inst) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ServiceID ${JSON.stringify(serviceId)} does not exist`, { field: 'ServiceID' });
        // Registering an existing check again keeps its status and output (the command sees to it).
        await local.registerCheck(buildAgentCheck(b, local.name, inst?.service.record, local.policy));
        return ok(reply);
      },
    },
    {
      method: 'PUT',
      url: '/v1/agent/check/deregister/*',
      handler: async (req, reply) => {
        checkDatacenter(queryOf(req), dc);
        await local.deregisterCheck(pathId(req));
        return ok(reply);
      },
    },
    {
      method: 'GET',
      url: '/v1/agent/checks',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
          acl: 'agentChecks',
          topics: [local.topic],
          filterFields: CHECK_FIELDS,
          index: () => local.index(),
          body: (opts) => {
            const out: Record<string, unknown> = {};
            for (const c of applyFilter(local.checks().map(checkJson), opts.filter)) out[c.CheckID] = c;
            return out;
          },
        }),
    },
    ttlRoute('pass', 'passing'),
    ttlRoute('warn', 'warning'),
    ttlRoute('fail', 'critical'),
    {
      method: 'PUT',
      url: '/v1/agent/check/update/*',
      schema: { body: updateSchema },
      preValidation: [normalizeBody(CHECK_UPDATE_SHAPE)],
      handler: async (req, reply) => {
        checkDatacenter(queryOf(req), dc);
        const b = req.body as { Status?: string; Output?: string };
        const status = b.Status ?? '';
        if (!STATUSES.includes(status)) throw invalid('Status', `Invalid check status: '${status}'`);
        await local.updateTtl(pathId(req), status as HealthStatus, b.Output ?? '');
        return ok(reply);
      },
    },
    {
      method: 'PUT',
      url: '/v1/agent/service/maintenance/*',
      handler: async (req, reply) => {
        const q = queryOf(req);
        checkDatacenter(q, dc);
        const id = pathId(req, 'service ID');
        const enable = parseEnable(req);
        await local.setMaintenance(enable, one(q, 'reason') ?? '', id);
        return ok(reply);
      },
    },
    {
      method: 'PUT',
      url: '/v1/agent/maintenance',
      handler: async (req, reply) => {
        const q = queryOf(req);
        checkDatacenter(q, dc);
        const enable = parseEnable(req);
        await local.setMaintenance(enable, one(q, 'reason') ?? '');
        return ok(reply);
      },
    },
    {
      method: 'GET',
      url: '/v1/agent/health/service/id/*',
      handler: async (req, reply) => {
        const id = pathId(req, 'service ID');
        const inst = local.service(id);
        if (!inst) {
          return agentHealth(req, reply, 404, `ServiceId ${id} not found`, { AggregatedStatus: 'critical', Checks: null, Service: null });
        }
        return agentHealth(req, reply, codeOf(inst.status), inst.status, instanceHealth(inst));
      },
    },
    {
      method: 'GET',
      url: '/v1/agent/health/service/name/*',
      handler: async (req, reply) => {
        const name = pathId(req, 'service name');
        const list = catalog.instances(name).value.filter((i) => i.node.record.Node === local.name);
        let code = 404;
        let text = `ServiceName ${name} Not Found`;
        for (const i of list) {
          const c = codeOf(i.status);
          if (code === 404 || c > code) {
            code = c;
            text = i.status;
          }
        }
        return agentHealth(req, reply, code, text, list.map(instanceHealth));
      },
    },
  ];
}
