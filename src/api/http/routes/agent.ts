import type { RouteOptions } from 'fastify';
import { BeaconError } from '../../../errors/index.js';
import { SERF_CHECK_ID } from '../../../health/index.js';
import { storeHealth } from '../../../store/index.js';
import { blockingRead } from '../blocking.js';
import type { HttpContext } from '../context.js';
import { SERVICE_SHAPE, normalizeTaggedAddresses } from '../normalize.js';
import { boolParam, checkDatacenter } from '../query.js';
import { buildService, buildServiceChecks } from '../../../catalog/index.js';
import { serviceSchema } from '../schemas.js';
import { agentServiceJson } from '../serialize.js';
import { AGENT_SERVICE_FIELDS } from '../filter-fields.js';
import { applyFilter, missingParam, normalizeBody, ok, pathId, queryOf } from './shared.js';

export function agentRoutes(ctx: HttpContext): RouteOptions[] {
  const { catalog, config, local } = ctx;
  // This server's (or agent's) own node; in a server group, agent registrations go to the
  // group's shared node (local.name), but agent/self and members describe this process.
  const node = config.node;
  const dc = config.datacenter;
  const tier = ctx.servers;

  const member = (m: { name: string; addr: string; version: string } = { name: node, addr: config.advertiseAddr, version: ctx.version }) => ({
    Name: m.name,
    Addr: m.addr,
    Port: 8301,
    Tags: { role: 'consul', dc, port: '8300', ...(tier ? {} : { bootstrap: '1' }), id: m.name, vsn: '2', build: `${m.version}:beacon` },
    Status: 1,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  });

  // What agent/self says changes only with this server's own node record (members: and the group).
  const selfRead = { topics: [`node:${node}`], index: () => catalog.nodeIndex(node) } as const;
  const membersRead = {
    topics: [`node:${node}`, 'table:nodes', 'table:checks'],
    index: () => Math.max(catalog.nodeIndex(node), tier?.index() ?? 0, catalog.tableIndex('nodes'), catalog.tableIndex('checks')),
  } as const;
  // Per-host agents: nodes with a serfHealth check that are not servers (alive while it passes).
  const agents = (servers: ReadonlySet<string>) => {
    const out: Array<Omit<ReturnType<typeof member>, 'Tags'> & { Tags: Record<string, string> }> = [];
    for (const n of catalog.nodes().value) {
      const name = n.record.Node;
      if (servers.has(name)) continue;
      const serf = catalog.check(name, SERF_CHECK_ID);
      if (!serf || catalog.node(name).value?.services.some((s) => s.record.ID === 'consul')) continue;
      out.push({
        ...member({ name, addr: n.record.Address, version: ctx.version }),
        Tags: { role: 'node', dc, id: n.record.ID, vsn: '2', build: `${ctx.version}:beacon` },
        Status: serf.record.Status === 'critical' ? 4 : 1,
      });
    }
    return out;
  };

  return [
    missingParam('/v1/agent/service', 'id', 'Missing service ID in the path'),
    missingParam('/v1/agent/service/deregister', 'id', 'Missing service ID in the path', 'PUT'),
    {
      method: 'PUT',
      url: '/v1/agent/service/register',
      schema: { body: serviceSchema },
      preValidation: [
        normalizeBody(SERVICE_SHAPE),
        (req, _r, done) => {
          const b = req.body as Record<string, unknown>;
          if (b && typeof b === 'object' && 'TaggedAddresses' in b) b.TaggedAddresses = normalizeTaggedAddresses(b.TaggedAddresses);
          done();
        },
      ],
      handler: async (req, reply) => {
        const q = queryOf(req);
        checkDatacenter(q, dc);
        const body = req.body as Record<string, unknown>;
        const svc = buildService(body);
        const checks = buildServiceChecks(body, svc, local.name, local.policy);
        await local.registerService(svc, checks, { replaceExistingChecks: boolParam(q, 'replace-existing-checks') });
        return ok(reply);
      },
    },
    {
      method: 'PUT',
      url: '/v1/agent/service/deregister/*',
      handler: async (req, reply) => {
        checkDatacenter(queryOf(req), dc);
        await local.deregisterService(pathId(req, 'service ID'));
        return ok(reply);
      },
    },
    {
      method: 'GET',
      url: '/v1/agent/services',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
          acl: 'agentServices',
          topics: [local.topic],
          filterFields: AGENT_SERVICE_FIELDS,
          index: () => local.index(),
          body: (opts) => {
            const list = local.services().map((s) => agentServiceJson(s, dc));
            const out: Record<string, unknown> = {};
            for (const s of applyFilter(list, opts.filter)) out[s.ID] = s;
            return out;
          },
        }),
    },
    {
      method: 'GET',
      url: '/v1/agent/service/*',
      handler: (req, reply) => {
        const id = pathId(req, 'service ID');
        return blockingRead(ctx, req, reply, {
          topics: [local.topic],
          index: () => local.index(),
          body: () => {
            const inst = local.service(id);
            if (!inst) throw new BeaconError('BEACON_ERR_NOT_FOUND', `unknown service ID: ${id}`, { field: 'id' });
            return agentServiceJson(inst.service, dc);
          },
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/agent/self',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
          ...selfRead,
          cache: false,
          body: () => ({
            Config: {
              Datacenter: dc,
              PrimaryDatacenter: dc,
              NodeName: node,
              NodeID: nodeId(catalog, node),
              Revision: 'beacon',
              Server: true,
              Version: ctx.version,
              BuildDate: '',
            },
            DebugConfig: { Datacenter: dc, NodeName: node, DataDir: config.dataDir, Store: config.store },
            Coord: null,
            Member: member(),
            Stats: {
              beacon: {
                version: ctx.version,
                store: ctx.store.driver,
                uptime_seconds: String(Math.round((Date.now() - ctx.startedAt) / 1000)),
                ...storeStats(ctx),
              },
              catalog: Object.fromEntries(Object.entries(catalog.sizes).map(([k, v]) => [k, String(v)])),
            },
            Meta: {},
          }),
        }),
    },
    {
      method: 'GET',
      url: '/v1/agent/members',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
          acl: 'members',
          ...membersRead,
          cache: false,
          body: () => {
            if (boolParam(queryOf(req), 'wan')) return wanMembers(ctx);
            const servers = tier ? tier.members().map((m) => member({ name: m.name, addr: m.addr, version: m.version })) : [member()];
            return [...servers, ...agents(new Set(servers.map((m) => m.Name)))];
          },
        }),
    },
  ];
}

/**
 * `?wan=1`: every server of every datacenter joined over the WAN, named `<node>.<dc>` as Consul
 * names its WAN members; Status 1 (alive) or 4 (failed: it did not answer lately).
 */
function wanMembers(ctx: HttpContext): unknown[] {
  const fed = ctx.federation;
  const views = fed ? fed.view() : [];
  const out: unknown[] = [];
  for (const v of views) {
    for (const s of v.servers) {
      const port = s.Http.slice(s.Http.lastIndexOf(':') + 1);
      out.push({
        Name: `${s.Node}.${v.name}`,
        Addr: s.Addr,
        Port: 8302,
        Tags: { role: 'consul', dc: v.name, port: '8300', id: s.Node, vsn: '2', build: `${s.Version}:beacon`, http_port: port },
        Status: s.status === 'alive' ? 1 : 4,
        ProtocolMin: 1,
        ProtocolMax: 5,
        ProtocolCur: 2,
        DelegateMin: 2,
        DelegateMax: 5,
        DelegateCur: 4,
      });
    }
  }
  return out;
}

/** Whether the store takes writes, and since when, as agent/self's Stats show it (strings, as Consul's). */
function storeStats(ctx: HttpContext): Record<string, string> {
  const h = storeHealth(ctx.store);
  return {
    store_writable: String(h.writable),
    pending_check_statuses: String(ctx.catalog.pendingCount),
    ...(h.writable ? {} : { store_not_writable_since: new Date(h.since).toISOString() }),
    ...(h.lastError ? { store_last_error: h.lastError } : {}),
  };
}

function nodeId(catalog: HttpContext['catalog'], node: string): string {
  return catalog.node(node).value?.node.record.ID ?? '';
}
