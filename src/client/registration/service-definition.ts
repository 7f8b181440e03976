import { hostname } from 'node:os';
import { invalidOption } from '../client-error.js';
import { toGoDuration, toMs, type Duration } from '../duration.js';
import { booleanOption, describe, isPlainObject, knownKeys, numberOption, stringOption } from '../validate.js';
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

const isStringMap = (v: unknown): boolean => isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string');

const REGISTER_KEYS = ['name', 'id', 'address', 'port', 'tags', 'meta', 'weights', 'check'] as const satisfies readonly (keyof RegisterOptions)[];
const COMMON_CHECK_KEYS = ['deregisterCriticalAfter', 'notes'] as const;
const CHECK_KEYS = {
  ttl: ['ttl', 'initialStatus', ...COMMON_CHECK_KEYS],
  http: ['http', 'interval', 'timeout', 'method', 'header', 'tlsSkipVerify', 'tlsServerName', ...COMMON_CHECK_KEYS],
  tcp: ['tcp', 'interval', 'timeout', ...COMMON_CHECK_KEYS],
} as const;
type CheckKind = keyof typeof CHECK_KEYS;
const KINDS = Object.keys(CHECK_KEYS) as CheckKind[];
const ALL_CHECK_KEYS = [...new Set(Object.values(CHECK_KEYS).flat())];

/** The kind of a check: exactly one of ttl, http or tcp. */
function checkKind(c: Record<string, unknown>): CheckKind {
  const kinds = KINDS.filter((k) => c[k] !== undefined);
  if (kinds.length === 1) return kinds[0];
  if (kinds.length > 1) throw invalidOption(`register: check has ${kinds.join(' and ')}; a check is one kind: give only one of ttl, http or tcp`);
  for (const key of Object.keys(c)) if (c[key] !== undefined && !ALL_CHECK_KEYS.includes(key as never)) knownKeys(c, ALL_CHECK_KEYS, 'register: check');
  throw invalidOption('register: check needs one of ttl (e.g. { ttl: "15s" }), http (with interval) or tcp (with interval)');
}

/** A check's interval: required for the checks the server runs, more than 0. */
function interval(c: Record<string, unknown>, kind: CheckKind): number {
  if (c.interval === undefined)
    throw invalidOption(`register: check.interval is required with check.${kind} (how often the server runs it), e.g. interval: '10s'`);
  const ms = toMs(c.interval as Duration, 'register: check.interval');
  if (ms <= 0) throw invalidOption('register: check.interval must be more than 0');
  return ms;
}

/**
 * Validates register options and builds the Consul registration body. Throws
 * `BEACON_ERR_VALIDATION` naming the field at fault: an unknown key (with a suggestion for a
 * likely typo), a value of the wrong type or range, a check with no kind or with two.
 */
export function buildServiceDefinition(options: RegisterOptions): ServiceDefinition {
  const opts = knownKeys(options, REGISTER_KEYS, 'register options') as unknown as RegisterOptions;
  if (typeof opts.name !== 'string' || opts.name.trim() === '') throw invalidOption(`register: name must be a non-empty string, got ${describe(opts.name)}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
    throw invalidOption(`register: port must be an integer in 0..65535, got ${describe(opts.port)}`);
  if (opts.address !== undefined && (typeof opts.address !== 'string' || opts.address === '' || opts.address === '0.0.0.0' || opts.address === '::')) {
    throw invalidOption('register: address must be a routable address or host name (not 0.0.0.0 or ::)');
  }
  if (opts.tags !== undefined && (!Array.isArray(opts.tags) || !opts.tags.every((t) => typeof t === 'string')))
    throw invalidOption('register: tags must be an array of strings');
  if (opts.meta !== undefined && !isStringMap(opts.meta)) throw invalidOption('register: meta must map strings to strings');
  const w = opts.weights === undefined ? {} : knownKeys(opts.weights, ['passing', 'warning'], 'register: weights');
  const weight = (v: unknown, field: string) => numberOption(v, `register: weights.${field}`, 1, { min: 0, max: 65535, integer: true });
  const weights = { Passing: weight(w.passing, 'passing'), Warning: weight(w.warning, 'warning') };
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
  if (opts.check !== undefined) {
    if (!isPlainObject(opts.check)) throw invalidOption(`register: check must be an object such as { ttl: '15s' }, got ${describe(opts.check)}`);
    const c = opts.check as Record<string, unknown>;
    const kind = checkKind(c);
    knownKeys(c, CHECK_KEYS[kind], `register: check (a ${kind} check)`);
    checkId = `service:${id}`;
    const check: Record<string, unknown> = { CheckID: checkId, Name: `Service '${opts.name}' check` };
    if (c.notes !== undefined) check.Notes = stringOption(c.notes, 'register: check.notes');
    if (c.deregisterCriticalAfter !== undefined)
      check.DeregisterCriticalServiceAfter = toGoDuration(toMs(c.deregisterCriticalAfter as Duration, 'register: check.deregisterCriticalAfter'));
    if (kind === 'ttl') {
      ttlMs = toMs(c.ttl as Duration, 'register: check.ttl');
      if (ttlMs < 1) throw invalidOption('register: check.ttl must be at least 1ms');
      if (c.initialStatus !== undefined && !['passing', 'warning', 'critical'].includes(c.initialStatus as string))
        throw invalidOption(`register: check.initialStatus must be passing, warning or critical, got ${describe(c.initialStatus)}`);
      check.TTL = toGoDuration(ttlMs);
      check.Status = c.initialStatus ?? 'passing';
    } else {
      check.Interval = toGoDuration(interval(c, kind));
      if (c.timeout !== undefined) check.Timeout = toGoDuration(toMs(c.timeout as Duration, 'register: check.timeout'));
      if (kind === 'http') {
        check.HTTP = httpUrl(c.http);
        if (c.method !== undefined) check.Method = stringOption(c.method, 'register: check.method');
        if (c.header !== undefined) {
          if (!isPlainObject(c.header) || !Object.values(c.header).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string')))
            throw invalidOption("register: check.header must map header names to arrays of strings, e.g. { Authorization: ['Bearer x'] }");
          check.Header = c.header;
        }
        if (c.tlsSkipVerify !== undefined) check.TLSSkipVerify = booleanOption(c.tlsSkipVerify, 'register: check.tlsSkipVerify', false);
        if (c.tlsServerName !== undefined) check.TLSServerName = stringOption(c.tlsServerName, 'register: check.tlsServerName');
      } else {
        if (typeof c.tcp !== 'string' || !/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(c.tcp))
          throw invalidOption(`register: check.tcp must be "host:port", e.g. "127.0.0.1:8080", got ${describe(c.tcp)}`);
        check.TCP = c.tcp;
      }
    }
    body.Check = check;
  }
  return { id, name: opts.name, ttlMs, checkId, body };
}

/** An HTTP check's URL: http:// or https://. */
function httpUrl(value: unknown): string {
  let ok = false;
  if (typeof value === 'string') {
    try {
      const u = new URL(value);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
  }
  if (!ok) throw invalidOption(`register: check.http must be an http:// or https:// URL, e.g. "http://127.0.0.1:8080/health", got ${describe(value)}`);
  return value as string;
}
