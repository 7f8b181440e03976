import type { RouteOptions } from 'fastify';
import { BeaconError, invalid } from '../../../errors/index.js';
import type { HealthStatus } from '../../../catalog/index.js';
import type { HttpContext } from '../context.js';
import { ok } from './shared.js';

const STATUSES: readonly string[] = ['passing', 'warning', 'critical'];

const forwardedTtlSchema = {
  type: 'object',
  required: ['Node', 'CheckID', 'Status'],
  additionalProperties: false,
  properties: {
    Node: { type: 'string', minLength: 1, maxLength: 1024 },
    CheckID: { type: 'string', minLength: 1, maxLength: 1024 },
    Status: { type: 'string' },
    Output: { type: 'string', maxLength: 65536 },
  },
} as const;

/**
 * Routes servers of one group use among themselves. `PUT /v1/beacon/cluster/ttl` takes a TTL
 * update forwarded by the server a heartbeat reached, and applies it only if this server owns
 * the check. A single server answers it 404 (there is no group).
 */
export function clusterRoutes(ctx: HttpContext): RouteOptions[] {
  return [
    {
      method: 'PUT',
      url: '/v1/beacon/cluster/ttl',
      schema: { body: forwardedTtlSchema },
      handler: async (req, reply) => {
        const tier = ctx.servers;
        if (!tier) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'this server is not part of a server group (single-server mode)');
        const b = req.body as { Node: string; CheckID: string; Status: string; Output?: string };
        if (!STATUSES.includes(b.Status)) throw invalid('Status', `Invalid check status: '${b.Status}'`);
        await tier.forwardedTtl(b.Node, b.CheckID, b.Status as HealthStatus, b.Output ?? '');
        return ok(reply);
      },
    },
  ];
}
