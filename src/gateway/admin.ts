import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { GatewayMetrics } from './metrics.js';
import type { RouteTable } from './route-table.js';

/** The conflict rule, as the admin page states it. */
export const CONFLICT_RULE =
  'A Host of the form <svc>.service[.<dc>].<domain> or <tag>.<svc>.service[.<dc>].<domain> routes by name. Otherwise the first matching path route in this order: longest prefix; then a route for a named host before one for any host; then the routes file before urlprefix- tags; then service name.';

/** What the admin page shows besides the table. */
export interface AdminState {
  table(): RouteTable;
  routesFile(): { path: string | null; loadedAt: string | null; lastError: string | null };
  /** Routers with their current sets (service, tag, dc, instances, ejected). */
  upstreams(): unknown[];
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * The admin listener: `GET /routes` (the route table in match order, rejected tags, the routes
 * file's state), `GET /upstreams` (each target's instances and ejections), `GET /metrics`
 * (Prometheus) and `GET /healthz`.
 */
export function createAdminServer(metrics: GatewayMetrics, state: AdminState): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { code: 'BEACON_ERR_METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on the admin address; use GET` });
      return;
    }
    if (path === '/routes') {
      const t = state.table();
      json(res, 200, {
        rule: CONFLICT_RULE,
        routes: t.routes.map((r) => ({
          id: r.id,
          host: r.host ?? null,
          prefix: r.prefix,
          service: r.service,
          tag: r.tag ?? null,
          dc: r.dc ?? null,
          strip: r.strip ?? null,
          source: r.source,
          origin: r.origin,
          shadowed: r.shadowed,
        })),
        rejectedTags: t.rejected,
        routesFile: state.routesFile(),
      });
      return;
    }
    if (path === '/upstreams') return json(res, 200, state.upstreams());
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => json(res, 500, { code: 'BEACON_ERR_INTERNAL', message: err.message }),
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    json(res, 404, { code: 'BEACON_ERR_NOT_FOUND', message: `No admin route ${path}; use /routes, /upstreams, /metrics or /healthz` });
  });
}
