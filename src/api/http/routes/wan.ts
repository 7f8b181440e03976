import type { RouteOptions } from 'fastify';
import { BeaconError } from '../../../errors/index.js';
import { exchangeSchema, parseExchange, WAN_EXCHANGE_ROUTE } from '../../../cluster/index.js';
import type { HttpContext } from '../context.js';

/**
 * `POST /v1/beacon/wan/exchange`: another datacenter's server tells this one every server it
 * knows and gets back what this one knows (federation). The body is bounded by its schema
 * (64 datacenters of 64 servers, short strings).
 */
export function wanRoutes(ctx: HttpContext): RouteOptions[] {
  return [
    {
      method: 'POST',
      url: WAN_EXCHANGE_ROUTE,
      schema: { body: exchangeSchema },
      handler: (req) => {
        const fed = ctx.federation;
        if (!fed) throw new BeaconError('BEACON_ERR_NOT_FOUND', 'this server takes no part in a WAN federation');
        const msg = parseExchange(req.body);
        if (!msg) throw new BeaconError('BEACON_ERR_VALIDATION', 'Invalid body: not a WAN exchange message', { field: 'body' });
        if (msg.Datacenter === ctx.config.datacenter && msg.Node === ctx.config.node) {
          throw new BeaconError('BEACON_ERR_VALIDATION', 'Invalid Node: a WAN exchange from this very server (a join address that points at itself?)', {
            field: 'Node',
          });
        }
        return fed.receive(msg);
      },
    },
  ];
}
