import type { RouteOptions } from 'fastify';
import { invalid } from '../../../errors/index.js';
import { blockingRead } from '../blocking.js';
import type { HttpContext } from '../context.js';
import { all, boolParam } from '../query.js';
import { checkJson, healthEntryJson } from '../serialize.js';
import { applyFilter, param, queryOf } from './shared.js';

const STATES = ['any', 'passing', 'warning', 'critical'] as const;
type State = (typeof STATES)[number];

export function healthRoutes(ctx: HttpContext): RouteOptions[] {
  const { catalog } = ctx;
  return [
    {
      method: 'GET',
      url: '/v1/health/service/:name',
      handler: (req, reply) => {
        const name = param(req, 'name');
        const q = queryOf(req);
        const tags = all(q, 'tag');
        const passingOnly = boolParam(q, 'passing');
        return blockingRead(ctx, req, reply, [`svc:${name}`], (opts) => {
          const r = catalog.instances(name, { tags, passingOnly, ...(opts.nodeMeta ? { nodeMeta: opts.nodeMeta } : {}) });
          return { index: r.index, body: applyFilter(r.value.map(healthEntryJson), opts.filter) };
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/health/checks/:name',
      handler: (req, reply) => {
        const name = param(req, 'name');
        return blockingRead(ctx, req, reply, [`svc:${name}`], (opts) => {
          const r = catalog.serviceChecks(name);
          return { index: r.index, body: applyFilter(r.value.map(checkJson), opts.filter) };
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/health/node/:node',
      handler: (req, reply) => {
        const name = param(req, 'node');
        return blockingRead(ctx, req, reply, [`node:${name}`], (opts) => {
          const r = catalog.nodeChecks(name);
          return { index: r.index, body: applyFilter(r.value.map(checkJson), opts.filter) };
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/health/state/:state',
      handler: (req, reply) => {
        const state = param(req, 'state') as State;
        if (!STATES.includes(state)) throw invalid('state', `Bad check state: "${state}" (use any, passing, warning or critical)`);
        return blockingRead(ctx, req, reply, ['table:checks'], (opts) => {
          const r = catalog.checksInState(state);
          return { index: r.index, body: applyFilter(r.value.map(checkJson), opts.filter) };
        });
      },
    },
  ];
}
