import type { RouteOptions } from 'fastify';
import { blockingRead } from '../blocking.js';
import { storeHealth } from '../../../store/index.js';
import type { HttpContext } from '../context.js';

/**
 * Consul's status endpoints: this server is its own leader (single-server mode) while its store
 * takes writes; while it refuses them the leader is "" (Consul's answer when there is none), so
 * clients that wait for a leader see the outage. Like every read they take ?index&wait; the
 * answer changes with this server's own node record.
 */
export function statusRoutes(ctx: HttpContext): RouteOptions[] {
  const self = `${ctx.config.advertiseAddr}:8300`;
  const node = ctx.config.node;
  const read = { topics: [`node:${node}`], index: () => ctx.catalog.nodeIndex(node) } as const;
  return [
    {
      method: 'GET',
      url: '/v1/status/leader',
      handler: (req, reply) => blockingRead(ctx, req, reply, { ...read, cache: false, body: () => (storeHealth(ctx.store).writable ? self : '') }),
    },
    { method: 'GET', url: '/v1/status/peers', handler: (req, reply) => blockingRead(ctx, req, reply, { ...read, body: () => [self] }) },
  ];
}
