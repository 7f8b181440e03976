/**
 * Consul's ACL routes in its JSON shapes: `/v1/acl/bootstrap`, `/v1/acl/policy[/:id|/name/:name]`,
 * `/v1/acl/policies`, `/v1/acl/token[/:accessor|/self]`, `/v1/acl/tokens`. Reading needs
 * `acl = "read"`, writing `acl = "write"` (or the global-management policy); bootstrap needs
 * nothing and works once. A token's SecretID is answered only by the request that made it: it is
 * stored as a hash, so no later read can show it.
 */
import type { FastifyRequest, RouteOptions } from 'fastify';
import { parseRules } from '../../../acl/index.js';
import { ANONYMOUS_TOKEN_ID, type AclPolicyLink, type AclPolicyRecord, type AclStore, type AclTokenRecord } from '../../../catalog/index.js';
import { BeaconError, invalid } from '../../../errors/index.js';
import { requireAcl, secretOf } from '../acl.js';
import type { HttpContext } from '../context.js';
import { param } from './shared.js';

type Body = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function policyJson(p: AclPolicyRecord, withRules = true): Record<string, unknown> {
  return {
    ID: p.ID,
    Name: p.Name,
    Description: p.Description,
    ...(withRules ? { Rules: p.Rules } : {}),
    Datacenters: p.Datacenters,
    Hash: '',
    CreateIndex: p.CreateIndex,
    ModifyIndex: p.ModifyIndex,
  };
}

function tokenJson(t: AclTokenRecord, secret?: string): Record<string, unknown> {
  return {
    AccessorID: t.AccessorID,
    ...(secret !== undefined ? { SecretID: secret } : {}),
    Description: t.Description,
    Policies: t.Policies,
    Local: t.Local,
    CreateTime: t.CreateTime,
    Hash: '',
    CreateIndex: t.CreateIndex,
    ModifyIndex: t.ModifyIndex,
  };
}

function bodyOf(req: FastifyRequest): Body {
  const b = req.body;
  if (b === undefined || b === null || b === '') return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw invalid('body', 'Request decode failed: the body must be a JSON object');
  return b as Body;
}

function stringField(b: Body, key: string, max: number, required = false): string {
  const v = b[key];
  if (v === undefined || v === null) {
    if (required) throw invalid(key, `Missing ${key}`);
    return '';
  }
  if (typeof v !== 'string') throw invalid(key, `Invalid ${key}: must be a string`);
  if (v.length > max) throw invalid(key, `Invalid ${key}: longer than ${max} characters`);
  return v;
}

function policyInput(b: Body): Pick<AclPolicyRecord, 'Name' | 'Description' | 'Rules' | 'Datacenters'> {
  const Name = stringField(b, 'Name', 128, true);
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(Name)) throw invalid('Name', `Invalid Policy: invalid Name "${Name}": use letters, digits, '-' and '_'`);
  const Rules = stringField(b, 'Rules', 128 * 1024);
  parseRules(Rules);
  const dcs = b.Datacenters ?? [];
  if (!Array.isArray(dcs) || dcs.some((d) => typeof d !== 'string')) throw invalid('Datacenters', 'Invalid Datacenters: must be a list of datacenter names');
  return { Name, Description: stringField(b, 'Description', 1024), Rules, Datacenters: dcs as string[] };
}

function policyLinks(store: AclStore, b: Body): AclPolicyLink[] {
  const raw = b.Policies ?? [];
  if (!Array.isArray(raw)) throw invalid('Policies', 'Invalid Policies: must be a list of {"ID": …} or {"Name": …}');
  const out: AclPolicyLink[] = [];
  for (const [i, l] of raw.entries()) {
    const link = (l ?? {}) as Body;
    const id = typeof link.ID === 'string' ? link.ID : '';
    const name = typeof link.Name === 'string' ? link.Name : '';
    const p = id ? store.policy(id) : name ? store.policyByName(name) : undefined;
    if (!id && !name) throw invalid(`Policies[${i}]`, `Invalid Policies[${i}]: needs an ID or a Name`);
    if (!p) throw invalid(`Policies[${i}]`, `Invalid Policies[${i}]: no such ACL policy ${JSON.stringify(id || name)}`);
    if (!out.some((o) => o.ID === p.ID)) out.push({ ID: p.ID, Name: p.Name });
  }
  return out;
}

function tokenInput(store: AclStore, b: Body): { description: string; policies: AclPolicyLink[]; local: boolean } {
  const local = b.Local ?? false;
  if (typeof local !== 'boolean') throw invalid('Local', 'Invalid Local: must be true or false');
  for (const k of ['Roles', 'ServiceIdentities', 'NodeIdentities', 'TemplatedPolicies']) {
    const v = b[k];
    if (Array.isArray(v) && v.length > 0) throw invalid(k, `Invalid Token: ${k} are not supported by Beacon; link policies instead`);
  }
  return { description: stringField(b, 'Description', 1024), policies: policyLinks(store, b), local };
}

export function aclRoutes(ctx: HttpContext): RouteOptions[] {
  const acl = ctx.acl;
  if (!acl) return [];
  const store = acl.store;
  const index = (reply: { header(k: string, v: string): unknown }) => reply.header('X-Consul-Index', String(store.index));
  const policyParam = (req: FastifyRequest): AclPolicyRecord => {
    const id = param(req, 'id');
    const p = store.policy(id);
    if (!p) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ACL policy not found: "${id}"`);
    return p;
  };
  const tokenParam = (req: FastifyRequest): AclTokenRecord => {
    const id = param(req, 'id');
    const t = store.token(id);
    if (!t) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ACL token not found: "${id}"`);
    return t;
  };

  return [
    {
      method: 'PUT',
      url: '/v1/acl/bootstrap',
      handler: async (_req, reply) => {
        const { token, secret } = await store.bootstrap();
        index(reply);
        return tokenJson(token, secret);
      },
    },
    {
      method: 'PUT',
      url: '/v1/acl/policy',
      handler: async (req, reply) => {
        requireAcl(req, 'write');
        const p = await store.createPolicy(policyInput(bodyOf(req)));
        index(reply);
        return policyJson(p);
      },
    },
    {
      method: 'GET',
      url: '/v1/acl/policy/:id',
      handler: (req, reply) => {
        requireAcl(req, 'read');
        index(reply);
        return policyJson(policyParam(req));
      },
    },
    {
      method: 'GET',
      url: '/v1/acl/policy/name/:name',
      handler: (req, reply) => {
        requireAcl(req, 'read');
        const name = param(req, 'name');
        const p = store.policyByName(name);
        if (!p) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ACL policy not found: "${name}"`);
        index(reply);
        return policyJson(p);
      },
    },
    {
      method: 'PUT',
      url: '/v1/acl/policy/:id',
      handler: async (req, reply) => {
        requireAcl(req, 'write');
        const b = bodyOf(req);
        const id = param(req, 'id');
        if (typeof b.ID === 'string' && b.ID !== '' && b.ID !== id)
          throw invalid('ID', 'Invalid Policy: the ID in the body does not match the one in the path');
        const p = await store.updatePolicy(id, policyInput(b));
        index(reply);
        return policyJson(p);
      },
    },
    {
      method: 'DELETE',
      url: '/v1/acl/policy/:id',
      handler: async (req, reply) => {
        requireAcl(req, 'write');
        const ok = await store.deletePolicy(param(req, 'id'));
        index(reply);
        return ok;
      },
    },
    {
      method: 'GET',
      url: '/v1/acl/policies',
      handler: (req, reply) => {
        requireAcl(req, 'read');
        index(reply);
        return store.listPolicies().map((p) => policyJson(p, false));
      },
    },
    {
      method: 'PUT',
      url: '/v1/acl/token',
      handler: async (req, reply) => {
        requireAcl(req, 'write');
        const b = bodyOf(req);
        const input = tokenInput(store, b);
        const secret = stringField(b, 'SecretID', 128);
        const accessor = stringField(b, 'AccessorID', 36);
        if (secret && !UUID.test(secret)) throw invalid('SecretID', 'Invalid Token: SecretID must be a UUID');
        if (accessor && !UUID.test(accessor)) throw invalid('AccessorID', 'Invalid Token: AccessorID must be a UUID');
        if (accessor === ANONYMOUS_TOKEN_ID) throw invalid('AccessorID', 'Invalid Token: AccessorID is reserved for the anonymous token');
        const { token, secret: made } = await store.createToken({ ...input, ...(secret ? { secret } : {}), ...(accessor ? { accessor } : {}) });
        index(reply);
        return tokenJson(token, made);
      },
    },
    {
      method: 'GET',
      url: '/v1/acl/token/self',
      handler: (req, reply) => {
        const secret = secretOf(req.headers, req.url);
        const t = secret ? store.tokenBySecret(secret) : undefined;
        if (!t) throw new BeaconError('BEACON_ERR_ACL_NOT_FOUND', 'ACL not found');
        index(reply);
        return tokenJson(t);
      },
    },
    {
      method: 'GET',
      url: '/v1/acl/token/:id',
      handler: (req, reply) => {
        requireAcl(req, 'read');
        index(reply);
        return tokenJson(tokenParam(req));
      },
    },
    {
      method: 'PUT',
      url: '/v1/acl/token/:id',
      handler: async (req, reply) => {
        requireAcl(req, 'write');
        const b = bodyOf(req);
        const id = param(req, 'id');
        if (typeof b.AccessorID === 'string' && b.AccessorID !== '' && b.AccessorID !== id)
          throw invalid('AccessorID', 'Invalid Token: the AccessorID in the body does not match the one in the path');
        if (typeof b.SecretID === 'string' && b.SecretID !== '') throw invalid('SecretID', 'Invalid Token: the SecretID of a token cannot be changed');
        tokenParam(req);
        const t = await store.updateToken(id, tokenInput(store, b));
        index(reply);
        return tokenJson(t);
      },
    },
    {
      method: 'DELETE',
      url: '/v1/acl/token/:id',
      handler: async (req, reply) => {
        requireAcl(req, 'write');
        const ok = await store.deleteToken(param(req, 'id'));
        index(reply);
        return ok;
      },
    },
    {
      method: 'GET',
      url: '/v1/acl/tokens',
      handler: (req, reply) => {
        requireAcl(req, 'read');
        index(reply);
        return store.listTokens().map((t) => tokenJson(t));
      },
    },
  ];
}
