import type { RouteOptions } from 'fastify';
import type { InstanceView } from '../../../catalog/index.js';
import { createBalancer, DEFAULT_STRATEGY, isStrategyName, STRATEGIES, type Balancer, type StrategyName } from '../../../client/index.js';
import { BeaconError, invalid } from '../../../errors/index.js';
import type { HttpContext } from '../context.js';
import { all, boolParam, checkDatacenter, one } from '../query.js';
import { param, queryOf } from './shared.js';

interface Candidate {
  id: string;
  address: string;
  port: number;
  weight: number;
  view: InstanceView;
}

const MAX_KEY = 1024;

/**
 * GET /v1/beacon/pick/:service?strategy=&key=&tag=&passing — server-side discovery for callers
 * without the SDK: one healthy instance chosen by the SDK's own balancers. Balancer state (the
 * rotation, the hash ring) is kept per service and strategy, so round robin rotates across calls.
 */
export function pickRoutes(ctx: HttpContext): RouteOptions[] {
  const balancers = new Map<string, Balancer>();
  const balancerFor = (service: string, strategy: StrategyName): Balancer => {
    const k = `${strategy}\u0000${service}`;
    let b = balancers.get(k);
    if (!b) {
      if (balancers.size >= 50_000) balancers.clear();
      balancers.set(k, (b = createBalancer(strategy)));
    }
    return b;
  };
  return [
    {
      method: 'GET',
      url: '/v1/beacon/pick/:service',
      handler: (req) => {
        const q = queryOf(req);
        checkDatacenter(q, ctx.config.datacenter);
        const service = param(req, 'service');
        const strategy = one(q, 'strategy') ?? DEFAULT_STRATEGY;
        if (!isStrategyName(strategy)) throw invalid('strategy', `Invalid strategy: "${strategy}" (use one of ${STRATEGIES.join(', ')})`);
        const key = one(q, 'key');
        if (strategy === 'consistent-hash' && !key) throw invalid('key', 'Missing key: the consistent-hash strategy needs ?key=');
        if (key && key.length > MAX_KEY) throw invalid('key', `Invalid key: longer than ${MAX_KEY} characters`);
        const passing = boolParam(q, 'passing');
        const views = ctx.catalog.instances(service, { tags: all(q, 'tag'), healthFilter: passing ? 'passing' : 'not-critical' }).value;
        const candidates: Candidate[] = views.map((v) => ({
          id: `${v.node.record.Node}/${v.service.record.ID}`,
          address: v.service.record.Address || v.node.record.Address,
          port: v.service.record.Port,
          weight: v.status === 'warning' ? v.service.record.Weights.Warning : v.service.record.Weights.Passing,
          view: v,
        }));
        const chosen = balancerFor(service, strategy).pick(candidates, key ? { key } : {});
        if (!chosen) throw new BeaconError('BEACON_ERR_NOT_FOUND', `No healthy instance of service "${service}"`, { field: 'service' });
        const s = chosen.view.service.record;
        return {
          ID: s.ID,
          Service: s.Service,
          Node: chosen.view.node.record.Node,
          Address: chosen.address,
          Port: s.Port,
          Tags: s.Tags,
          Meta: s.Meta,
          Weights: s.Weights,
          Status: chosen.view.status,
          Strategy: strategy,
        };
      },
    },
  ];
}
