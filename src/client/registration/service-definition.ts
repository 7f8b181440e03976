import { hostname } from 'node:os';
import { invalidOption } from '../client-error.js';
import { toGoDuration, toMs } from '../duration.js';
import type { RegisterOptions } from './types.js';

/** The JSON body of `PUT /v1/agent/service/register`, plus what the SDK needs to keep it alive. */
export interface ServiceDefinition {
  readonly id: string;
  readonly name: string;
  /** TTL of the check in ms, when it is a TTL check. */
  readonly ttlMs: number | undefined;
  /** Id of the service's check, when it has one. */
  readonly checkId: string | undefined;
  readonly body: Record<string, unknown>;
}

const isStringMap = (v: unknown): boolean => typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string');

/**
 * Validates register options and builds the Consul registration body. Throws
 * `BEACON_ERR_VALIDATION` naming the field at fault.
 */
export function buildServiceDefinition(opts: RegisterOptions): ServiceDefinition {
  if (typeof opts?.name !== 'string' || opts.name.trim() === '') throw invalidOption('register: name must be a non-empty string');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw invalidOption('register: port must be an integer in 0..65535');
  if (opts.address !== undefined && (typeof opts.address !== 'string' || opts.address === '0.0.0.0' || opts.address === '::')) {
    throw invalidOption('register: address must be a routable address or host name (not 0.0.0.0 or ::)');
  }
  if (opts.tags !== undefined && (!Array.isArray(opts.tags) || !opts.tags.every((t) => typeof t === 'string')))
    throw invalidOption('register: tags must be an array of strings');
  if (opts.meta !== undefined && !isStringMap(opts.meta)) throw invalidOption('register: meta must map strings to strings');
  const weight = (v: number | undefined, field: string) => {
    if (v === undefined) return 1;
    if (!Number.isInteger(v) || v < 0) throw invalidOption(`register: weights.${field} must be a non-negative integer`);
    return v;
  };
  const weights = { Passing: weight(opts.weights?.passing, 'passing'), Warning: weight(opts.weights?.warning, 'warning') };
  const id = opts.id ?? `${opts.name}-${hostname()}-${opts.port}`;
  if (typeof id !== 'string' || id === '' || id.includes('/')) throw invalidOption('register: id must be a non-empty string without "/"');

  const body: Record<string, unknown> = {
    ID: id,
    Name: opts.name,
    Tags: [...(opts.tags ?? [])],
    Port: opts.port,
    Meta: { ...(opts.meta ?? {}) },
    Weights: weights,
  };
  if (opts.address !== undefined) body.Address = opts.address;

  let ttlMs: number | undefined;
  let checkId: string | undefined;
  const c = opts.check;
  if (c !== undefined) {
    checkId = `service:${id}`;
    const check: Record<string, unknown> = { CheckID: checkId, Name: `Service '${opts.name}' check` };
    if (c.notes !== undefined) check.Notes = c.notes;
    if (c.deregisterCriticalAfter !== undefined)
      check.DeregisterCriticalServiceAfter = toGoDuration(toMs(c.deregisterCriticalAfter, 'check.deregisterCriticalAfter'));
    if ('ttl' in c) {
      ttlMs = toMs(c.ttl, 'check.ttl');
      if (ttlMs < 1) throw invalidOption('register: check.ttl must be at least 1ms');
      check.TTL = toGoDuration(ttlMs);
      check.Status = c.initialStatus ?? 'passing';
    } else if ('http' in c || 'tcp' in c) {
      const interval = toMs(c.interval, 'check.interval');
      if (interval <= 0) throw invalidOption('register: check.interval must be > 0');
      check.Interval = toGoDuration(interval);
      if (c.timeout !== undefined) check.Timeout = toGoDuration(toMs(c.timeout, 'check.timeout'));
      if ('http' in c) {
        check.HTTP = c.http;
        if (c.method) check.Method = c.method;
        if (c.header) check.Header = c.header;
        if (c.tlsSkipVerify !== undefined) check.TLSSkipVerify = c.tlsSkipVerify;
        if (c.tlsServerName !== undefined) {
          if (typeof c.tlsServerName !== 'string' || c.tlsServerName === '') throw invalidOption('register: check.tlsServerName must be a non-empty string');
          check.TLSServerName = c.tlsServerName;
        }
      } else check.TCP = c.tcp;
    } else {
      throw invalidOption('register: check must have ttl, http or tcp');
    }
    body.Check = check;
  }
  return { id, name: opts.name, ttlMs, checkId, body };
}
