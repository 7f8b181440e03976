import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BeaconError, isBeaconError } from '../../errors/index.js';

/** Beacon's own routes answer JSON errors; Consul-compatible routes keep Consul's text/plain. */
export const isBeaconRoute = (url: string): boolean => url.startsWith('/v1/beacon/');

/** Maps any thrown error to a BeaconError; validation errors name the field. */
export function toBeaconError(err: unknown, url = ''): BeaconError {
  if (isBeaconError(err)) return err;
  const fe = err as FastifyError & { validation?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] };
  if (fe?.validation && fe.validation.length > 0) {
    const v = fe.validation[0];
    const path = v.instancePath
      .replace(/^\//, '')
      .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
      .replace(/\//g, '.');
    const missing = v.params?.missingProperty as string | undefined;
    const field = [path, missing].filter(Boolean).join('.') || 'body';
    const what = missing ? 'is required' : (v.message ?? 'is invalid');
    return new BeaconError('BEACON_ERR_VALIDATION', `Invalid ${field}: ${what}`, { field, cause: err });
  }
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new BeaconError('BEACON_ERR_BODY_TOO_LARGE', 'Request body too large', { cause: err });
  if (fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new BeaconError('BEACON_ERR_UNSUPPORTED_MEDIA_TYPE', fe.message, { cause: err });
  // The router could not decode the path: a %-escape that is not UTF-8 (an encoded surrogate
  // such as %ED%A0%80 included, which decodeURIComponent refuses too).
  if (fe?.code === 'FST_ERR_BAD_URL') {
    const seg = undecodableSegment(url);
    return new BeaconError('BEACON_ERR_VALIDATION', `Invalid path: ${seg ? `"${seg}" is` : 'it is'} not valid percent-encoded UTF-8`, {
      field: 'path',
      cause: err,
    });
  }
  if (fe?.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new BeaconError('BEACON_ERR_URI_TOO_LONG', 'URI too long: a path parameter is longer than 512 characters', { field: 'path', cause: err });
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new BeaconError('BEACON_ERR_VALIDATION', fe.message, { cause: err });
  }
  return new BeaconError('BEACON_ERR_INTERNAL', 'Internal server error', { cause: err });
}

/** The first segment of a URL's path that decodeURIComponent refuses, shortened for a message. */
function undecodableSegment(url: string): string | undefined {
  const q = url.indexOf('?');
  for (const seg of (q < 0 ? url : url.slice(0, q)).split('/')) {
    try {
      decodeURIComponent(seg);
    } catch {
      return seg.length > 64 ? `${seg.slice(0, 61)}...` : seg;
    }
  }
  return undefined;
}

/** An error's wire form for a request to `url`: JSON `{code, message, field?}` on Beacon's routes, Consul's text elsewhere. */
export function errorPayload(err: BeaconError, url: string): { type: string; body: string } {
  if (isBeaconRoute(url)) return { type: 'application/json', body: JSON.stringify(err.toJSON()) };
  return { type: 'text/plain; charset=utf-8', body: consulErrorText(err) };
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: BeaconError): FastifyReply {
  const { type, body } = errorPayload(err, req.url);
  return reply.code(err.status).header('X-Beacon-Error', err.code).type(type).send(body);
}

/** An error's text on the Consul-compatible routes: Consul's text first (clients match on it), then the field when the text lacks it. */
export function consulErrorText(err: BeaconError): string {
  return err.status === 400 && err.field && !err.message.includes(err.field) ? `${err.message} (field: ${err.field})` : err.message;
}
