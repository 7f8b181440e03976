import type { RouteOptions } from 'fastify';
import type { HttpContext } from '../context.js';

/** GET /metrics in Prometheus text format (also at Consul's /v1/agent/metrics?format=prometheus). */
export function metricsRoutes(ctx: HttpContext): RouteOptions[] {
  const handler: RouteOptions['handler'] = async (_req, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  return [
    { method: 'GET', url: '/metrics', handler },
    { method: 'GET', url: '/v1/agent/metrics', handler },
  ];
}
