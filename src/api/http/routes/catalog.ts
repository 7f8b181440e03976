import type { RouteOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { CheckRecord, NodeRecord, TxnOpLike } from './types.js';
import { invalid } from '../../../errors/index.js';
import { blockingRead } from '../blocking.js';
import type { HttpContext } from '../context.js';
import { CATALOG_DEREGISTER_SHAPE, CATALOG_REGISTER_SHAPE, normalizeKeys, normalizeTaggedAddresses, CHECK_SHAPE } from '../normalize.js';
import { all, checkDatacenter } from '../query.js';
import { buildCheck, buildService, validateMeta } from '../registration.js';
import { catalogDeregisterSchema, catalogRegisterSchema } from '../schemas.js';
import { nodeJson, nodeServiceJson, serviceNodeJson } from '../serialize.js';
import { NODE_FIELDS, SERVICE_NODE_FIELDS } from '../filter-fields.js';
import { applyFilter, missingParam, normalizeBody, param, queryOf } from './shared.js';

type Body = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function catalogRoutes(ctx: HttpContext): RouteOptions[] {
  const { catalog, config } = ctx;
  const dc = config.datacenter;

  return [
    {
      method: 'GET',
      url: '/v1/catalog/datacenters',
      handler: (req, reply) => blockingRead(ctx, req, reply, {
        topics: [`node:${config.node}`], index: () => catalog.nodeIndex(config.node), body: () => [dc],
      }),
    },
    {
      method: 'GET',
      url: '/v1/catalog/services',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
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
          topics: [`svc:${name}`],
          filterFields: SERVICE_NODE_FIELDS,
          index: () => catalog.serviceIndex(name),
          body: (opts) => applyFilter(catalog.instances(name, { tags, ...(opts.nodeMeta ? { nodeMeta: opts.nodeMeta } : {}) }).value.map(serviceNodeJson), opts.filter),
        });
      },
    },
    {
      method: 'GET',
      url: '/v1/catalog/nodes',
      handler: (req, reply) =>
        blockingRead(ctx, req, reply, {
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
      preValidation: [normalizeBody(CATALOG_REGISTER_SHAPE), (req, _r, done) => {
        const b = req.body as Body;
        const svc = b?.Service as Body | undefined;
        if (svc && typeof svc === 'object' && 'TaggedAddresses' in svc) svc.TaggedAddresses = normalizeTaggedAddresses(svc.TaggedAddresses);
        done();
      }],
      handler: async (req) => {
        const b = req.body as Body;
        checkDatacenter({ dc: (b.Datacenter as string | undefined) ?? '' }, dc);
        await catalog.write(catalogRegisterOps(ctx, b));
        return true;
      },
    },
    {
      method: 'PUT',
      url: '/v1/catalog/deregister',
      schema: { body: catalogDeregisterSchema },
      preValidation: normalizeBody(CATALOG_DEREGISTER_SHAPE),
      handler: async (req) => {
        const b = req.body as Body;
        checkDatacenter({ dc: (b.Datacenter as string | undefined) ?? '' }, dc);
        const node = (b.Node as string | undefined) ?? '';
        if (!node) throw invalid('Node', 'Missing node name');
        const checkId = (b.CheckID as string | undefined) ?? '';
        const serviceId = (b.ServiceID as string | undefined) ?? '';
        if (!catalog.node(node).value) return true;
        if (checkId) await catalog.write([catalog.deleteCheckOp(node, checkId)]);
        else if (serviceId) await catalog.write(catalog.deleteServiceOps(node, serviceId));
        else await catalog.write(catalog.deleteNodeOps(node));
        return true;
      },
    },
  ];
}

/** The ops of one /v1/catalog/register: node (unless skipped), service, checks; one revision. */
function catalogRegisterOps(ctx: HttpContext, b: Body): TxnOpLike[] {
  const { catalog, config } = ctx;
  const node = (b.Node as string | undefined) ?? '';
  if (!node) throw invalid('Node', 'Missing node name');
  if (/[\s/]/.test(node)) throw invalid('Node', `Invalid Node: "${node}" may not contain spaces or '/'`);
  const address = (b.Address as string | undefined) ?? '';
  if (!address) throw invalid('Address', 'Missing node address');
  const id = (b.ID as string | undefined) ?? '';
  if (id && !UUID.test(id)) throw invalid('ID', `Invalid ID: "${id}" must be a UUID`);
  const existing = catalog.node(node).value?.node.record;
  const ops: TxnOpLike[] = [];
  if (!(b.SkipNodeUpdate === true && existing)) {
    const tagged = { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address, ...((b.TaggedAddresses as Record<string, string> | null) ?? {}) };
    const rec: NodeRecord = {
      ID: id || existing?.ID || randomUUID(), Node: node, Address: address, Datacenter: config.datacenter,
      TaggedAddresses: tagged, Meta: validateMeta('NodeMeta', b.NodeMeta),
    };
    ops.push(catalog.putNodeOp(rec));
  }
  const svcBody = b.Service as Body | null | undefined;
  const svc = svcBody ? buildService(svcBody, 'Service') : undefined;
  if (svc) ops.push(catalog.putServiceOp(node, svc));
  const checks: Array<[Body, string]> = [];
  if (b.Check && typeof b.Check === 'object') checks.push([b.Check as Body, 'Check']);
  if (Array.isArray(b.Checks)) (b.Checks as Body[]).forEach((c, i) => checks.push([c, `Checks[${i}]`]));
  for (const [raw, field] of checks) ops.push(catalog.putCheckOp(catalogCheck(ctx, raw, node, svc, field)));
  return ops;
}

/** A catalog check: status and output as given (the catalog API runs nothing). */
function catalogCheck(ctx: HttpContext, raw: Body, node: string, svc: ReturnType<typeof buildService> | undefined, field: string): CheckRecord {
  const name = (raw.Name as string | undefined) ?? '';
  const checkId = (raw.CheckID as string | undefined) || name;
  if (!checkId) throw invalid(`${field}.CheckID`, 'Missing check ID (CheckID or Name)');
  const status = (raw.Status as string | undefined) || 'critical';
  if (!['passing', 'warning', 'critical'].includes(status)) throw invalid(`${field}.Status`, `Invalid check status: '${status}'`);
  const serviceId = (raw.ServiceID as string | undefined) ?? '';
  const ownerSvc = serviceId ? (svc?.ID === serviceId ? svc : ctx.catalog.instance(node, serviceId)?.service.record) : undefined;
  if (serviceId && !ownerSvc) throw invalid(`${field}.ServiceID`, `ServiceID "${serviceId}" does not exist on node "${node}"`);
  const def = normalizeKeys(raw.Definition ?? {}, CHECK_SHAPE) as Body;
  const defRecord = Object.keys(def).length > 0
    ? buildCheck({ ...def, Interval: def.Interval ?? def.IntervalDuration, Timeout: def.Timeout ?? def.TimeoutDuration, DeregisterCriticalServiceAfter: def.DeregisterCriticalServiceAfter ?? def.DeregisterCriticalServiceAfterDuration }, {
      node, field: `${field}.Definition`, defaultId: checkId, defaultName: name || checkId, policy: { enableScriptChecks: false },
      ...(ownerSvc ? { service: ownerSvc } : {}),
    }).Definition
    : {};
  return {
    Node: node, CheckID: checkId, Name: name || checkId, Status: status as CheckRecord['Status'],
    Notes: (raw.Notes as string | undefined) ?? '', Output: (((raw as Body).Output as string | undefined) ?? '').slice(0, 4096),
    ServiceID: ownerSvc?.ID ?? '', ServiceName: ownerSvc?.Service ?? '', ServiceTags: ownerSvc?.Tags ?? [],
    Type: '', Definition: defRecord,
  };
}
