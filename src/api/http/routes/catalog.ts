import type { FastifyRequest, RouteOptions } from 'fastify';
import { buildCatalogCheck, buildNodeRegistration, buildService, type CasOption, type CatalogRegistration, type CheckRecord } from '../../../catalog/index.js';
import { invalid } from '../../../errors/index.js';
import { blockingRead } from '../blocking.js';
import type { HttpContext } from '../context.js';
import { CATALOG_DEREGISTER_SHAPE, CATALOG_REGISTER_SHAPE, normalizeKeys, normalizeTaggedAddresses, CHECK_SHAPE } from '../normalize.js';
import { all, checkDatacenter, one } from '../query.js';
import { forwardByBody } from '../wan-forward.js';
import { catalogDeregisterSchema, catalogRegisterSchema } from '../schemas.js';
import { nodeJson, nodeServiceJson, serviceNodeJson } from '../serialize.js';
import { NODE_FIELDS, SERVICE_NODE_FIELDS } from '../filter-fields.js';
import { applyFilter, missingParam, normalizeBody, param, queryOf } from './shared.js';

type Body = Record<string, unknown>;

export function catalogRoutes(ctx: HttpContext): RouteOptions[] {
  const { catalog, config } = ctx;
  const dc = config.datacenter;

  return [
    {
      method: 'GET',
      url: '/v1/catalog/datacenters',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
          topics: [`node:${config.node}`],
          index: () => catalog.nodeIndex(config.node),
          // Nearest first by round-trip time; the list changes with the WAN, not the index.
          cache: false,
          body: () => ctx.federation?.datacenters() ?? [dc],
        }),
    },
    {
      method: 'GET',
      url: '/v1/catalog/services',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
          acl: 'serviceNames',
          topics: ['table:services'],
          filterFields: SERVICE_NODE_FIELDS,
          index: () => catalog.tableIndex('services'),
          body: (opts) => {
            const out: Record<string, string[]> = {};
            for (const [name, tags] of catalog.services(opts.nodeMeta ? { nodeMeta: opts.nodeMeta } : {}).value) {
              if (opts.filter && !catalog.instances(name).value.some((i) => opts.filter!(serviceNodeJson(i)))) continue;
              out[name] = tags;
            }
            return out;
          },
        }),
    },
    {
      method: 'GET',
      url: '/v1/catalog/service/:name',
      handler: (req, reply) => {
        const name = param(req, 'name');
        const tags = all(queryOf(req), 'tag');
        return blockingRead(ctx, req, reply, {
          acl: 'serviceNodes',
          topics: [`svc:${name}`],
          filterFields: SERVICE_NODE_FIELDS,
          index: () => catalog.serviceIndex(name),
          body: (opts) =>
            applyFilter(catalog.instances(name, { tags, ...(opts.nodeMeta ? { nodeMeta: opts.nodeMeta } : {}) }).value.map(serviceNodeJson), opts.filter),
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/catalog/nodes',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
          acl: 'nodes',
          topics: ['table:nodes'],
          filterFields: NODE_FIELDS,
          index: () => catalog.tableIndex('nodes'),
          body: (opts) => applyFilter(catalog.nodes(opts.nodeMeta ? { nodeMeta: opts.nodeMeta } : {}).value.map(nodeJson), opts.filter),
        }),
    },
    {
      method: 'GET',
      url: '/v1/catalog/node/:node',
      handler: (req, reply) => {
        const name = param(req, 'node');
        return blockingRead(ctx, req, reply, {
          acl: 'nodeServices',
          topics: [`node:${name}`],
          index: () => catalog.nodeIndex(name),
          body: () => {
            const r = catalog.node(name);
            if (!r.value) return null;
            const services: Record<string, unknown> = {};
            for (const s of r.value.services) services[s.record.ID] = nodeServiceJson(s);
            return { Node: nodeJson(r.value.node), Services: services };
          },
        });
      },
    },
    missingParam('/v1/catalog/service', 'name', 'Missing service name'),
    missingParam('/v1/catalog/node', 'node', 'Missing node name'),
    {
      method: 'PUT',
      url: '/v1/catalog/register',
      schema: { body: catalogRegisterSchema },
      preValidation: [
        normalizeBody(CATALOG_REGISTER_SHAPE),
        (req, _r, done) => {
          const b = req.body as Body;
          const svc = b?.Service as Body | undefined;
          if (svc && typeof svc === 'object' && 'TaggedAddresses' in svc) svc.TaggedAddresses = normalizeTaggedAddresses(svc.TaggedAddresses);
          done();
        },
      ],
      handler: async (req, reply) => {
        const b = req.body as Body;
        if (await forwardByBody(ctx, req, reply, (b.Datacenter as string | undefined) ?? '')) return reply;
        checkDatacenter({ dc: (b.Datacenter as string | undefined) ?? '' }, dc);
        return catalog.commands.catalogRegister(catalogRegistration(b), casOf(req));
      },
    },
    {
      method: 'PUT',
      url: '/v1/catalog/deregister',
      schema: { body: catalogDeregisterSchema },
      preValidation: normalizeBody(CATALOG_DEREGISTER_SHAPE),
      handler: async (req, reply) => {
        const b = req.body as Body;
        if (await forwardByBody(ctx, req, reply, (b.Datacenter as string | undefined) ?? '')) return reply;
        checkDatacenter({ dc: (b.Datacenter as string | undefined) ?? '' }, dc);
        const node = (b.Node as string | undefined) ?? '';
        if (!node) throw invalid('Node', 'Missing node name');
        const checkId = (b.CheckID as string | undefined) ?? '';
        const serviceId = (b.ServiceID as string | undefined) ?? '';
        const cas = casOf(req);
        // Removing what is not there is fine (true), as in Consul; only a failed ?cas= answers false.
        const done = checkId
          ? await catalog.commands.deregisterCheck(node, checkId, cas)
          : serviceId
            ? await catalog.commands.deregisterService(node, serviceId, cas)
            : await catalog.commands.deregisterNode(node, cas);
        return done || cas.cas === undefined;
      },
    },
  ];
}

/**
 * `?cas=N`: write only if the entity's modify index is N (0: it must not exist yet), as
 * Consul's check-and-set; the answer is then `true` or `false`.
 */
function casOf(req: FastifyRequest): CasOption {
  const raw = one(queryOf(req), 'cas');
  if (raw === undefined) return {};
  if (!/^\d{1,15}$/.test(raw)) throw invalid('cas', `Invalid cas: "${raw}" must be a modify index (a non-negative integer)`);
  return { cas: Number(raw) };
}

/** The records of one /v1/catalog/register body, validated (the command writes them in one revision). */
function catalogRegistration(b: Body): CatalogRegistration {
  const node = buildNodeRegistration(b);
  const svcBody = b.Service as Body | null | undefined;
  const service = svcBody ? buildService(svcBody, 'Service') : undefined;
  const checks: CheckRecord[] = [];
  const checkFields: string[] = [];
  const add = (raw: Body, field: string) => {
    const def = raw.Definition ? normalizeKeys(raw.Definition, CHECK_SHAPE) : undefined;
    const check = buildCatalogCheck(def ? { ...raw, Definition: def } : raw, node.Node, field);
    if (checks.some((c) => c.CheckID === check.CheckID)) throw invalid(`${field}.CheckID`, `Invalid check: duplicate CheckID "${check.CheckID}"`);
    checks.push(check);
    checkFields.push(field);
  };
  if (b.Check && typeof b.Check === 'object') add(b.Check as Body, 'Check');
  if (Array.isArray(b.Checks)) (b.Checks as Body[]).forEach((c, i) => add(c, `Checks[${i}]`));
  return { node, skipNodeUpdate: b.SkipNodeUpdate === true, ...(service ? { service } : {}), checks, checkFields };
}
