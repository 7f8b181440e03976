import type { RouteOptions } from 'fastify';
import { blockingRead } from '../blocking.js';
import { storeHealth } from '../../../store/index.js';
import type { HttpContext } from '../context.js';

/**
 * Consul's status endpoints. A single server is its own leader while its store takes writes;
 * while it refuses them the leader is "" (Consul's answer when there is none), so clients that
 * wait for a leader see the outage. In a server group, peers are the live servers and the
 * leader is the coordinator (the server that joined first), "" while none is known or this
 * server cannot write to the store. A single server answers `<advertise address>:8300`, as a
 * Consul server's RPC address looks; a group member answers each server's advertised HTTP
 * address, which tells servers on one host apart. Like every read they take ?index&wait.
 */
export function statusRoutes(ctx: HttpContext): RouteOptions[] {
  const self = `${ctx.config.advertiseAddr}:8300`;
  const node = ctx.config.node;
  const tier = ctx.servers;
  const index = () => Math.max(ctx.catalog.nodeIndex(node), tier?.index() ?? 0);
  const read = { topics: [`node:${node}`], index } as const;
  const leader = () => {
    if (!storeHealth(ctx.store).writable) return '';
    if (!tier) return self;
    const l = tier.leader();
    return l ? l.http : '';
  };
  const peers = () => (tier ? tier.members().map((m) => m.http) : [self]);
  return [
    {
      method: 'GET',
      url: '/v1/status/leader',
      handler: (req, reply) => blockingRead(ctx, req, reply, { ...read, cache: false, body: leader }),
    },
    { method: 'GET', url: '/v1/status/peers', handler: (req, reply) => blockingRead(ctx, req, reply, { ...read, cache: false, body: peers }) },
  ];
}
