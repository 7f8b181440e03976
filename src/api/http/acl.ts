/**
 * ACL enforcement on the HTTP API. Every request's token (`X-Consul-Token`, `Authorization:
 * Bearer …` or `?token=`) is resolved once into an authorizer; writes and single-object reads are
 * checked before their handler runs (403 `Permission denied: …`, nothing changes), and list reads
 * drop what the token may not read and say so with `X-Consul-Results-Filtered-By-ACLs: true`.
 * Answers kept in the response cache are keyed by the token's accessor, so one token never sees
 * another's answer, and the cache is emptied when tokens or policies change.
 *
 * A route that no rule here names is allowed under the default policy `allow` and needs a
 * management token under `deny`: a new route is closed until it says what it needs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { AclResolver, Authorizer, Resource, Want } from '../../acl/index.js';
import { BeaconError } from '../../errors/index.js';
import type { HttpContext } from './context.js';

const authorizers = new WeakMap<FastifyRequest, Authorizer>();

/** The token secret a request carries: `X-Consul-Token`, else `Authorization: Bearer`, else `?token=`. */
export function secretOf(headers: IncomingMessage['headers'], url: string): string | undefined {
  const h = headers['x-consul-token'];
  if (typeof h === 'string' && h !== '') return h.trim();
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const q = url.indexOf('?');
  if (q >= 0 && url.includes('token=', q)) {
    for (const part of url.slice(q + 1).split('&')) {
      if (part.startsWith('token=')) {
        try {
          return decodeURIComponent(part.slice(6)) || undefined;
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

/**
 * The response-cache identity of a request: '' for the anonymous token (or when ACLs restrict
 * nothing), the accessor ID of a known token, undefined for a token that does not exist (such a
 * request must reach the router and be refused).
 */
export function cacheIdentity(acl: AclResolver): (req: IncomingMessage) => string | undefined {
  return (req) => {
    if (!acl.active) return '';
    const secret = secretOf(req.headers, req.url ?? '');
    if (secret === undefined) return '';
    const id = acl.identity(secret);
    return id === '' ? undefined : id;
  };
}

/** The authorizer of a request (allow-all when ACLs are off, as in tests without them). */
export function authzOf(req: FastifyRequest): Authorizer | undefined {
  return authorizers.get(req);
}

/** Consul's refusal: `Permission denied: token with AccessorID '…' lacks permission 'service:write' on "web"`. */
export function permissionDenied(authz: Authorizer, perm: string, name?: string): BeaconError {
  const who = authz.id === 'anonymous' ? 'anonymous token' : `token with AccessorID '${authz.id}'`;
  return new BeaconError(
    'BEACON_ERR_ACL_DENIED',
    `Permission denied: ${who} lacks permission '${perm}'${name === undefined ? '' : ` on ${JSON.stringify(name)}`}`,
  );
}

/** Throws Permission denied unless the request's token may do `want` on `res` `name`. */
export function requirePermission(req: FastifyRequest, res: Resource, name: string, want: Want): void {
  const a = authorizers.get(req);
  if (a && !a.can(res, name, want)) throw permissionDenied(a, `${res}:${want}`, name);
}

/** Throws Permission denied unless the token may manage ACLs (`acl = "read"|"write"`, or global-management). */
export function requireAcl(req: FastifyRequest, want: Want): void {
  const a = authorizers.get(req);
  if (a && !a.acl(want)) throw permissionDenied(a, `acl:${want}`);
}

type Need = readonly [Resource, string, Want];
type Rule = (req: FastifyRequest, ctx: HttpContext) => readonly Need[] | 'open' | 'acl';

type Body = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const wildcard = (req: FastifyRequest): string => {
  const p = req.params as Record<string, string>;
  return p['*'] ?? '';
};
const param = (req: FastifyRequest, k: string): string => (req.params as Record<string, string>)[k] ?? '';

/** The service name of a service on this node by ID ('' when unknown: the route answers that). */
function localServiceName(ctx: HttpContext, id: string): string | undefined {
  return ctx.local.service(id)?.service.record.Service;
}

function checkNeeds(ctx: HttpContext, checkId: string): readonly Need[] {
  const c = ctx.local.check(checkId)?.record;
  if (!c) return [];
  return c.ServiceName ? [['service', c.ServiceName, 'write']] : [['node', c.Node, 'write']];
}

const heartbeat: Rule = (req, ctx) => checkNeeds(ctx, wildcard(req));

const RULES: Record<string, Rule> = {
  'GET /v1/status/leader': () => 'open',
  'GET /v1/status/peers': () => 'open',
  'GET /v1/catalog/datacenters': () => 'open',
  // The web UI's page and assets hold no data; what it shows comes through the routes below.
  'GET /': () => 'open',
  'GET /ui': () => 'open',
  'GET /ui/*': () => 'open',
  // The event stream is not filtered per token: it needs read on every service and node.
  'GET /v1/beacon/events': () => [
    ['service', '', 'read'],
    ['node', '', 'read'],
  ],
  // Servers of other datacenters tell each other what they know (federation): they send their
  // --acl-agent-token, which needs agent write here (a token made with the same SecretID in
  // every datacenter, as Consul's replication token is).
  'POST /v1/beacon/wan/exchange': (_req, ctx) => [['agent', ctx.local.name, 'write']],
  // Lists: filtered item by item in the read (blocking.ts).
  'GET /v1/catalog/services': () => [],
  'GET /v1/catalog/service/:name': () => [],
  'GET /v1/catalog/nodes': () => [],
  'GET /v1/catalog/node/:node': () => [],
  'GET /v1/health/service/:name': () => [],
  'GET /v1/health/checks/:name': () => [],
  'GET /v1/health/node/:node': () => [],
  'GET /v1/health/state/:state': () => [],
  'GET /v1/agent/services': () => [],
  'GET /v1/agent/checks': () => [],
  'GET /v1/agent/members': () => [],
  'GET /v1/agent/self': (_req, ctx) => [['agent', ctx.local.name, 'read']],
  'GET /metrics': (_req, ctx) => [['agent', ctx.local.name, 'read']],
  'GET /v1/agent/metrics': (_req, ctx) => [['agent', ctx.local.name, 'read']],
  'GET /v1/agent/service/*': (req, ctx) => {
    const name = localServiceName(ctx, wildcard(req));
    return name === undefined ? [] : [['service', name, 'read']];
  },
  'GET /v1/agent/health/service/id/*': (req, ctx) => {
    const name = localServiceName(ctx, wildcard(req));
    return name === undefined ? [] : [['service', name, 'read']];
  },
  'GET /v1/agent/health/service/name/*': (req) => [['service', wildcard(req), 'read']],
  'GET /v1/beacon/pick/:service': (req) => [['service', param(req, 'service'), 'read']],
  'PUT /v1/agent/service/register': (req) => [['service', str((req.body as Body | undefined)?.Name), 'write']],
  'PUT /v1/agent/service/deregister/*': (req, ctx) => {
    const name = localServiceName(ctx, wildcard(req));
    return name === undefined ? [] : [['service', name, 'write']];
  },
  'PUT /v1/agent/service/maintenance/*': (req, ctx) => {
    const name = localServiceName(ctx, wildcard(req));
    return name === undefined ? [] : [['service', name, 'write']];
  },
  'PUT /v1/agent/maintenance': (_req, ctx) => [['node', ctx.local.name, 'write']],
  'PUT /v1/agent/check/register': (req, ctx) => {
    const b = (req.body ?? {}) as Body;
    const sid = str(b.ServiceID);
    if (sid === '') return [['node', ctx.local.name, 'write']];
    const name = localServiceName(ctx, sid);
    return name === undefined ? [] : [['service', name, 'write']];
  },
  'PUT /v1/agent/check/deregister/*': heartbeat,
  'PUT /v1/agent/check/pass/*': heartbeat,
  'PUT /v1/agent/check/warn/*': heartbeat,
  'PUT /v1/agent/check/fail/*': heartbeat,
  'PUT /v1/agent/check/update/*': heartbeat,
  'PUT /v1/beacon/cluster/ttl': (req, ctx) => {
    const b = (req.body ?? {}) as Body;
    const c = ctx.catalog.check(str(b.Node), str(b.CheckID))?.record;
    if (!c) return [];
    return c.ServiceName ? [['service', c.ServiceName, 'write']] : [['node', c.Node, 'write']];
  },
  'PUT /v1/catalog/register': (req) => {
    const b = (req.body ?? {}) as Body;
    const needs: Need[] = [['node', str(b.Node), 'write']];
    const svc = b.Service as Body | undefined;
    if (svc && typeof svc === 'object') needs.push(['service', str(svc.Service), 'write']);
    return needs;
  },
  'PUT /v1/catalog/deregister': (req, ctx) => {
    const b = (req.body ?? {}) as Body;
    const node = str(b.Node);
    const sid = str(b.ServiceID);
    if (sid !== '') {
      const s = ctx.catalog.node(node).value?.services.find((x) => x.record.ID === sid);
      return s ? [['service', s.record.Service, 'write']] : [];
    }
    return [['node', node, 'write']];
  },
};

/**
 * Installs ACL enforcement on an app: resolves each request's token (an unknown one answers 403
 * `ACL not found`), then checks the route's rule before its handler.
 */
export function aclHooks(ctx: HttpContext, acl: AclResolver) {
  return {
    onRequest: (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
      // Until a token exists (and under the default policy allow) ACLs restrict nothing, and a
      // token sent along is not looked at, as with Consul's ACLs off.
      if (!acl.active) return done();
      try {
        authorizers.set(req, acl.resolve(secretOf(req.headers, req.url)));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    preHandler: (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
      const a = authorizers.get(req);
      if (!a || a.management) return done();
      const route = req.routeOptions.url;
      if (route === undefined) return done();
      if (route.startsWith('/v1/acl/')) return done(); // the ACL routes check their own
      const rule = RULES[`${req.method} ${route}`];
      try {
        const needs = rule ? rule(req, ctx) : a.allowsAll ? 'open' : 'acl';
        if (needs === 'acl') throw permissionDenied(a, 'operator:write', route);
        if (needs !== 'open') for (const [res, name, want] of needs) if (!a.can(res, name, want)) throw permissionDenied(a, `${res}:${want}`, name);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  };
}

/** What list reads filter by: the kinds of items the Consul routes answer with. */
export type AclFilterKind =
  'serviceNames' | 'serviceNodes' | 'healthEntries' | 'checks' | 'nodes' | 'nodeServices' | 'agentServices' | 'agentChecks' | 'members';

type J = Record<string, unknown>;
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const nodeName = (x: unknown): string => {
  const n = (x as J)?.Node;
  return typeof n === 'string' ? n : typeof (n as J)?.Node === 'string' ? ((n as J).Node as string) : '';
};

/**
 * Drops from a list read's body what `a` may not read. Returns the body and whether anything was
 * dropped (which sets `X-Consul-Results-Filtered-By-ACLs`).
 */
export function filterBody(kind: AclFilterKind, body: unknown, a: Authorizer): { body: unknown; filtered: boolean } {
  let filtered = false;
  const keep = (ok: boolean) => {
    if (!ok) filtered = true;
    return ok;
  };
  const list = (f: (x: J) => boolean) => (Array.isArray(body) ? (body as J[]).filter((x) => keep(f(x))) : body);
  const map = (f: (v: J, k: string) => boolean) => {
    if (!body || typeof body !== 'object') return body;
    const out: J = {};
    for (const [k, v] of Object.entries(body as J)) if (keep(f(v as J, k))) out[k] = v;
    return out;
  };
  let out: unknown;
  switch (kind) {
    case 'serviceNames':
      out = map((_v, k) => a.serviceRead(k));
      break;
    case 'serviceNodes':
      out = list((x) => a.serviceRead(String(x.ServiceName)) && a.nodeRead(String(x.Node)));
      break;
    case 'healthEntries':
      out = list((x) => a.serviceRead(String((x.Service as J)?.Service)) && a.nodeRead(nodeName(x)));
      break;
    case 'checks':
      out = list((x) => a.nodeRead(text(x.Node)) && (text(x.ServiceName) !== '' ? a.serviceRead(text(x.ServiceName)) : true));
      break;
    case 'nodes':
      out = list((x) => a.nodeRead(String(x.Node)));
      break;
    case 'members':
      out = list((x) => a.nodeRead(String(x.Name)));
      break;
    case 'agentServices':
      out = map((v) => a.serviceRead(String(v.Service)));
      break;
    case 'agentChecks':
      out = map((v) => (text(v.ServiceName) !== '' ? a.serviceRead(text(v.ServiceName)) : a.nodeRead(text(v.Node))));
      break;
    case 'nodeServices': {
      const b = body as J | null;
      if (!b) return { body, filtered };
      if (!a.nodeRead(nodeName(b))) return { body: null, filtered: true };
      const services: J = {};
      for (const [k, v] of Object.entries((b.Services as J) ?? {})) if (keep(a.serviceRead(String((v as J).Service)))) services[k] = v;
      out = { ...b, Services: services };
      break;
    }
  }
  return { body: out, filtered };
}
