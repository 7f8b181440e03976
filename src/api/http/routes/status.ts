import type { RouteOptions } from 'fastify';
import { blockingRead } from '../blocking.js';
import type { HttpContext } from '../context.js';

/**
 * Consul's status endpoints: this server is its own leader (single-server mode). Like every
 * read they take ?index&wait; the answer changes only with this server's own node record.
 */
export function statusRoutes(ctx: HttpContext): RouteOptions[] {
  const self = `${ctx.config.advertiseAddr}:8300`;
  const node = ctx.config.node;
  const read = { topics: [`node:${node}`], index: () => ctx.catalog.nodeIndex(node) } as const;
  return [
    { method: 'GET', url: '/v1/status/leader', handler: (req, reply) => blockingRead(ctx, req, reply, { ...read, body: () => self }) },
    { method: 'GET', url: '/v1/status/peers', handler: (req, reply) => blockingRead(ctx, req, reply, { ...read, body: () => [self] }) },
  ];
}
