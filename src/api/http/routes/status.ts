import type { RouteOptions } from 'fastify';
import type { HttpContext } from '../context.js';

/** Consul's status endpoints: this server is its own leader (single-server mode). */
export function statusRoutes(ctx: HttpContext): RouteOptions[] {
  const self = `${ctx.config.advertiseAddr}:8300`;
  return [
    { method: 'GET', url: '/v1/status/leader', handler: async (_req, reply) => reply.type('application/json').send(JSON.stringify(self)) },
    { method: 'GET', url: '/v1/status/peers', handler: async () => [self] },
  ];
}
