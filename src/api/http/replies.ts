import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BeaconError, isBeaconError } from '../../errors/index.js';

/** Beacon's own routes answer JSON errors; Consul-compatible routes keep Consul's text/plain. */
const isBeaconRoute = (url: string) => url.startsWith('/v1/beacon/');

/** Maps any thrown error to a BeaconError; validation errors name the field. */
export function toBeaconError(err: unknown): BeaconError {
  if (isBeaconError(err)) return err;
  const fe = err as FastifyError & { validation?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] };
  if (fe?.validation && fe.validation.length > 0) {
    const v = fe.validation[0];
    const path = v.instancePath.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
    const missing = v.params?.missingProperty as string | undefined;
    const field = [path, missing].filter(Boolean).join('.') || 'body';
    const what = missing ? 'is required' : (v.message ?? 'is invalid');
    return new BeaconError('BEACON_ERR_VALIDATION', `Invalid ${field}: ${what}`, { field, cause: err });
  }
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new BeaconError('BEACON_ERR_BODY_TOO_LARGE', 'Request body too large', { cause: err });
  if (fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new BeaconError('BEACON_ERR_UNSUPPORTED_MEDIA_TYPE', fe.message, { cause: err });
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new BeaconError('BEACON_ERR_VALIDATION', fe.message, { cause: err });
  }
  return new BeaconError('BEACON_ERR_INTERNAL', 'Internal server error', { cause: err });
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: BeaconError): FastifyReply {
  reply.code(err.status).header('X-Beacon-Error', err.code);
  if (isBeaconRoute(req.url)) return reply.type('application/json').send(err.toJSON());
  return reply.type('text/plain; charset=utf-8').send(consulErrorText(err));
}

/** An error's text on the Consul-compatible routes: Consul's text first (clients match on it), then the field when the text lacks it. */
export function consulErrorText(err: BeaconError): string {
  return err.status === 400 && err.field && !err.message.includes(err.field) ? `${err.message} (field: ${err.field})` : err.message;
}
