import type { RouteOptions } from 'fastify';
import { invalid } from '../../../errors/index.js';
import { blockingRead } from '../blocking.js';
import type { HttpContext } from '../context.js';
import { all, boolParam } from '../query.js';
import { checkJson, healthEntryJson } from '../serialize.js';
import { CHECK_FIELDS, HEALTH_ENTRY_FIELDS } from '../filter-fields.js';
import { applyFilter, missingParam, param, queryOf } from './shared.js';

const STATES = ['any', 'passing', 'warning', 'critical'] as const;
type State = (typeof STATES)[number];

export function healthRoutes(ctx: HttpContext): RouteOptions[] {
  const { catalog } = ctx;
  return [
    missingParam('/v1/health/service', 'name', 'Missing service name'),
    missingParam('/v1/health/checks', 'name', 'Missing service name'),
    missingParam('/v1/health/node', 'node', 'Missing node name'),
    missingParam('/v1/health/state', 'state', 'Missing check state'),
    {
      method: 'GET',
      url: '/v1/health/service/:name',
      handler: (req, reply) => {
        const name = param(req, 'name');
        const q = queryOf(req);
        const tags = all(q, 'tag');
        const passingOnly = boolParam(q, 'passing');
        return blockingRead(ctx, req, reply, {
          acl: 'healthEntries',
          topics: [`svc:${name}`],
          filterFields: HEALTH_ENTRY_FIELDS,
          index: () => catalog.serviceIndex(name),
          body: (opts) =>
            applyFilter(
              catalog.instances(name, { tags, passingOnly, ...(opts.nodeMeta ? { nodeMeta: opts.nodeMeta } : {}) }).value.map(healthEntryJson),
              opts.filter,
            ),
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/health/checks/:name',
      handler: (req, reply) => {
        const name = param(req, 'name');
        return blockingRead(ctx, req, reply, {
          acl: 'checks',
          topics: [`svc:${name}`],
          filterFields: CHECK_FIELDS,
          index: () => catalog.serviceIndex(name),
          body: (opts) => applyFilter(catalog.serviceChecks(name).value.map(checkJson), opts.filter),
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/health/node/:node',
      handler: (req, reply) => {
        const name = param(req, 'node');
        return blockingRead(ctx, req, reply, {
          acl: 'checks',
          topics: [`node:${name}`],
          filterFields: CHECK_FIELDS,
          index: () => catalog.nodeIndex(name),
          body: (opts) => applyFilter(catalog.nodeChecks(name).value.map(checkJson), opts.filter),
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/health/state/:state',
      handler: (req, reply) => {
        const state = param(req, 'state') as State;
        if (!STATES.includes(state)) throw invalid('state', `Bad check state: "${state}" (use any, passing, warning or critical)`);
        return blockingRead(ctx, req, reply, {
          acl: 'checks',
          topics: ['table:checks'],
          filterFields: CHECK_FIELDS,
          index: () => catalog.tableIndex('checks'),
          body: (opts) => applyFilter(catalog.checksInState(state).value.map(checkJson), opts.filter),
        });
      },
    },
  ];
}
