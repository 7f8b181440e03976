import type { FastifyReply, FastifyRequest, RouteOptions, preValidationHookHandler } from 'fastify';
import { invalid } from '../../../errors/index.js';
import { normalizeKeys, type Shape } from '../normalize.js';
import { one, type Query } from '../query.js';

/** preValidation hook: canonical PascalCase keys (Consul decodes case-insensitively). */
export function normalizeBody(shape: Shape): preValidationHookHandler {
  return (req, _reply, done) => {
    req.body = normalizeKeys(req.body ?? {}, shape);
    done();
  };
}

/** Route params, bounded (the router caps their length too). */
export function param(req: FastifyRequest, name: string): string {
  const v = (req.params as Record<string, string>)[name] ?? '';
  if (v === '') throw invalid(name, `Missing ${name} in the path`);
  return v;
}

/**
 * The ID at the end of a wildcard route (`…/*`), slashes included: Consul takes everything
 * after the route's prefix (strings.TrimPrefix), and its Go client does not escape IDs, so
 * `service:web/1` arrives as `/v1/agent/check/pass/service:web/1`.
 */
export function pathId(req: FastifyRequest, what = 'check ID'): string {
  const v = (req.params as Record<string, string>)['*'] ?? '';
  if (v === '') throw invalid('id', `Missing ${what} in the path`);
  return v;
}

export function applyFilter<T>(items: T[], filter: ((v: unknown) => boolean) | undefined): T[] {
  return filter ? items.filter((i) => filter(i)) : items;
}

/** Empty 200, as Consul answers writes. */
export function ok(reply: FastifyReply): FastifyReply {
  return reply.code(200).send();
}

export const queryOf = (req: FastifyRequest): Query => req.query as Query;
export { one };

/**
 * A route whose path parameter is missing (`GET /v1/catalog/service/`, `PUT
 * /v1/agent/check/pass/`; the router ignores the trailing slash): 400 with a text naming it,
 * rather than a bare 404 that reads like "unknown route".
 */
export function missingParam(url: string, field: string, message: string, method: 'GET' | 'PUT' = 'GET'): RouteOptions {
  return { method, url, handler: () => Promise.reject(invalid(field, message)) };
}
