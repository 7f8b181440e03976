import { constants } from 'node:os';
import type { Agent } from 'undici';
import type { BalancerOptions, StrategyName } from './balance/index.js';
import { isStrategyName, STRATEGIES } from './balance/index.js';
import type { BackoffOptions } from './backoff.js';
import { invalidOption } from './client-error.js';
import { booleanOption, describe, isPlainObject, knownKeys, numberOption, stringOption, suggestion } from './validate.js';
import { STATIC_ENDPOINT_KEYS, type Discovery, type DnsDiscoveryOptions, type StaticServices } from './discovery/index.js';
import type { ClientLogger } from './logger.js';
import type { OutlierOptions } from './routing/index.js';
import { normalizeServerUrl } from './transport/index.js';

/**
 * Options of {@link BeaconClient}. Every field is optional; defaults are listed per field.
 * Discovery uses one of `discovery`, `static` or `dns` (at most one may be given), else the HTTP API of `servers`.
 * Every option is validated in the constructor: an unknown key, a value of the wrong type or out of
 * its range throws `BEACON_ERR_VALIDATION` naming it; nothing is clamped.
 */
export interface BeaconClientOptions {
  /** Beacon (or Consul) HTTP addresses, tried in order with failover. Default `$BEACON_HTTP_ADDR` or `$CONSUL_HTTP_ADDR` (comma-separated), else `http://127.0.0.1:8500`. */
  readonly servers?: readonly string[];
  /** ACL token, sent as `X-Consul-Token`. Default `$BEACON_HTTP_TOKEN`, else `$BEACON_TOKEN`, else `$CONSUL_HTTP_TOKEN`. */
  readonly token?: string;
  /** Datacenter for discovery when a call names none. Default: the server's own. */
  readonly datacenter?: string;
  /** DNS mode: discover through SRV records instead of the HTTP API. */
  readonly dns?: DnsDiscoveryOptions;
  /** Static mode: a fixed endpoint list per service instead of a registry. */
  readonly static?: StaticServices;
  /** A discovery backend of your own. */
  readonly discovery?: Discovery;
  /** Balancing strategy. Default `p2c-ewma`. */
  readonly strategy?: StrategyName;
  /** Per-service overrides, e.g. `{ sessions: { strategy: 'consistent-hash' } }`. */
  readonly services?: Readonly<Record<string, { readonly strategy?: StrategyName }>>;
  /** Tuning shared by the strategies (virtual nodes, latency decay, ...). */
  readonly balancer?: Omit<BalancerOptions, 'random' | 'now'>;
  /** Passive health (outlier ejection) settings; false turns it off. */
  readonly passiveHealth?: OutlierOptions | false;
  /** Extra attempts on other instances for idempotent requests through fetch/dispatcher: an integer from 0 to 10. Default 2. */
  readonly retries?: number;
  /** Request header carrying the consistent-hash key for fetch/dispatcher. Default `x-beacon-hash-key`. */
  readonly hashKeyHeader?: string;
  /** Timeout of registry calls (and connect), in ms. Default 10 000, at least 100. */
  readonly requestTimeoutMs?: number;
  /** `wait` of blocking queries, in ms. Default 60 000, from 100 to 600 000 (the server's cap). */
  readonly waitMs?: number;
  /** Let any server answer reads from its own view (`?stale`). Default false. */
  readonly allowStale?: boolean;
  /** Back-off of discovery retries while the registry is unreachable. Default 200 ms doubling to 30 s. */
  readonly retry?: Partial<BackoffOptions>;
  /** Check that instances without a TTL check are still registered this often, in ms. Default 30 000, at least 1 000. */
  readonly verifyRegistrationMs?: number;
  /** Signals that deregister this client's instances before exit; false to leave signals alone. Default SIGTERM and SIGINT. */
  readonly deregisterOnSignals?: readonly NodeJS.Signals[] | false;
  /** Longest wait for deregistration on a signal, in ms. Default 3 000. */
  readonly shutdownTimeoutMs?: number;
  /** undici Agent options for the connection pools (registry and services). */
  readonly agent?: Agent.Options;
  /**
   * TLS towards the registry (an `https://` server): `ca` (PEM) that signs its certificate, and a
   * client certificate and key (PEM) for servers that require one. Default: Node's trust store and
   * no client certificate. Only the registry connections use it; calls to services go through `agent`.
   */
  readonly tls?: { readonly ca?: string | Buffer; readonly cert?: string | Buffer; readonly key?: string | Buffer };
  /** Receives the SDK's log events. Default: silent. */
  readonly logger?: ClientLogger;
}

/** The validated, frozen configuration a client runs with. */
export interface ClientConfig {
  readonly servers: readonly string[];
  /** Whether `servers` was given (or set in the environment) rather than defaulted. */
  readonly serversGiven: boolean;
  readonly token: string | undefined;
  readonly datacenter: string | undefined;
  readonly strategy: StrategyName;
  readonly serviceStrategies: ReadonlyMap<string, StrategyName>;
  readonly retries: number;
  readonly hashKeyHeader: string;
  readonly requestTimeoutMs: number;
  readonly waitMs: number;
  readonly allowStale: boolean;
  readonly retry: BackoffOptions;
  readonly verifyRegistrationMs: number;
  readonly signals: readonly NodeJS.Signals[];
  readonly shutdownTimeoutMs: number;
}

const OPTION_KEYS = [
  'servers',
  'token',
  'datacenter',
  'dns',
  'static',
  'discovery',
  'strategy',
  'services',
  'balancer',
  'passiveHealth',
  'retries',
  'hashKeyHeader',
  'requestTimeoutMs',
  'waitMs',
  'allowStale',
  'retry',
  'verifyRegistrationMs',
  'deregisterOnSignals',
  'shutdownTimeoutMs',
  'agent',
  'tls',
  'logger',
] as const satisfies readonly (keyof BeaconClientOptions)[];

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function strategy(value: unknown, name: string): StrategyName {
  if (!isStrategyName(value))
    throw invalidOption(`${name} must be one of ${STRATEGIES.join(', ')}, got ${describe(value)}${suggestion(String(value), STRATEGIES)}`);
  return value;
}

const TLS_KEYS = ['ca', 'cert', 'key'] as const;

function checkTls(tls: unknown): void {
  if (tls === undefined) return;
  if (!isPlainObject(tls)) throw invalidOption(`tls must be an object with ca, cert and key (PEM strings or Buffers), got ${describe(tls)}`);
  for (const k of Object.keys(tls)) {
    if (!(TLS_KEYS as readonly string[]).includes(k))
      throw invalidOption(`tls.${k} is not an option (tls takes ${TLS_KEYS.join(', ')})${suggestion(k, TLS_KEYS)}`);
    const v = tls[k];
    if (v !== undefined && typeof v !== 'string' && !Buffer.isBuffer(v)) throw invalidOption(`tls.${k} must be a PEM string or Buffer, got ${describe(v)}`);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw invalidOption('tls.cert and tls.key go together: a client certificate needs its key');
}

/** At most one of the discovery modes: two of them would leave one silently unused. */
function checkModes(o: BeaconClientOptions): void {
  const given = (['discovery', 'static', 'dns'] as const).filter((k) => o[k] !== undefined);
  if (given.length > 1) throw invalidOption(`BeaconClient options: ${given.join(' and ')} are different discovery modes; pass only one of them`);
}

function checkDns(dns: unknown): void {
  if (dns === undefined) return;
  const d = knownKeys(dns, ['servers', 'domain', 'refreshMs', 'timeoutMs', 'resolver'], 'dns');
  if (d.servers !== undefined && (!Array.isArray(d.servers) || d.servers.length === 0 || !d.servers.every((s) => typeof s === 'string' && s.trim() !== '')))
    throw invalidOption('dns.servers must be a non-empty array of "host:port" strings such as "127.0.0.1:8600"');
  stringOption(d.domain, 'dns.domain');
  numberOption(d.refreshMs, 'dns.refreshMs', 5_000, { min: 100, unit: ' ms' });
  numberOption(d.timeoutMs, 'dns.timeoutMs', 2_000, { min: 1, integer: true, unit: ' ms' });
  const r = d.resolver as Record<string, unknown> | undefined;
  if (r !== undefined && (typeof r !== 'object' || r === null || !['resolveSrv', 'resolve4', 'resolve6'].every((f) => typeof r[f] === 'function')))
    throw invalidOption('dns.resolver must have resolveSrv, resolve4 and resolve6 methods (as node:dns/promises Resolver has)');
}

function checkStatic(services: unknown): void {
  if (services === undefined) return;
  if (!isPlainObject(services)) throw invalidOption(`static must map service names to endpoint lists, got ${describe(services)}`);
  for (const [name, eps] of Object.entries(services)) {
    if (!Array.isArray(eps)) throw invalidOption(`static.${name} must be an array of endpoints such as "10.0.0.7:8080", got ${describe(eps)}`);
    for (const ep of eps as unknown[]) if (typeof ep !== 'string') knownKeys(ep, STATIC_ENDPOINT_KEYS, `static.${name} endpoint`);
  }
}

function checkDiscovery(d: unknown): void {
  if (d === undefined) return;
  const x = d as Record<string, unknown> | null;
  if (typeof x !== 'object' || x === null || !['snapshot', 'current', 'watch', 'close'].every((f) => typeof x[f] === 'function'))
    throw invalidOption('discovery must implement the Discovery interface (snapshot, current, watch, close)');
}

function checkBalancer(b: unknown): void {
  if (b === undefined) return;
  const o = knownKeys(b, ['virtualNodes', 'decayMs', 'failurePenaltyMs'], 'balancer');
  numberOption(o.virtualNodes, 'balancer.virtualNodes', 160, { min: 1, max: 10_000, integer: true });
  numberOption(o.decayMs, 'balancer.decayMs', 10_000, { min: 1, unit: ' ms' });
  numberOption(o.failurePenaltyMs, 'balancer.failurePenaltyMs', 1_000, { min: 0, unit: ' ms' });
}

function checkPassiveHealth(p: unknown): void {
  if (p === undefined || p === false) return;
  if (p === true) throw invalidOption('passiveHealth must be an object of settings, or false to turn it off (it is on by default)');
  const o = knownKeys(p, ['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectedFraction'], 'passiveHealth');
  numberOption(o.consecutiveFailures, 'passiveHealth.consecutiveFailures', 3, { min: 1, max: 1_000, integer: true });
  const base = numberOption(o.baseEjectionMs, 'passiveHealth.baseEjectionMs', 10_000, { min: 1, unit: ' ms' });
  if (o.maxEjectionMs !== undefined)
    numberOption(o.maxEjectionMs, 'passiveHealth.maxEjectionMs (at least baseEjectionMs)', 300_000, { min: base, unit: ' ms' });
  numberOption(o.maxEjectedFraction, 'passiveHealth.maxEjectedFraction', 0.5, { min: 0, max: 0.5 });
}

function signalList(value: unknown): NodeJS.Signals[] {
  if (value === false) return [];
  if (value === undefined) return ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string' && Object.hasOwn(constants.signals, s)))
    throw invalidOption(`deregisterOnSignals must be false or an array of signal names such as ["SIGTERM", "SIGINT"], got ${JSON.stringify(value)}`);
  return [...(value as NodeJS.Signals[])];
}

/**
 * Validates options once, applying defaults; throws `BEACON_ERR_VALIDATION` naming the option.
 * Nothing is clamped or ignored: an unknown key (with a suggestion when it looks like a typo), a
 * value out of its documented range, a value of the wrong type, or two discovery modes at once
 * are refused.
 */
export function resolveConfig(options: BeaconClientOptions, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOption('BeaconClient options must be an object');
  const o = knownKeys(options, OPTION_KEYS, 'BeaconClient options') as BeaconClientOptions;
  checkModes(o);
  checkDns(o.dns);
  checkStatic(o.static);
  checkDiscovery(o.discovery);
  checkBalancer(o.balancer);
  checkPassiveHealth(o.passiveHealth);
  const envServers = env.BEACON_HTTP_ADDR || env.CONSUL_HTTP_ADDR;
  let servers: string[];
  if (o.servers !== undefined) {
    if (!Array.isArray(o.servers) || o.servers.length === 0)
      throw invalidOption('servers must be a non-empty array of addresses such as "http://127.0.0.1:8500"');
    servers = o.servers.map(normalizeServerUrl);
  } else servers = (envServers ? envServers.split(',') : ['http://127.0.0.1:8500']).map(normalizeServerUrl);
  const retry = o.retry === undefined ? {} : knownKeys(o.retry, ['baseMs', 'maxMs'], 'retry');
  const retryBase = numberOption(retry.baseMs, 'retry.baseMs', 200, { min: 10, unit: ' ms' });
  const retryMax = numberOption(retry.maxMs, 'retry.maxMs (at least retry.baseMs)', Math.max(30_000, retryBase), { min: retryBase, unit: ' ms' });
  const services = new Map<string, StrategyName>();
  if (o.services !== undefined && !isPlainObject(o.services))
    throw invalidOption(`services must map service names to { strategy }, got ${describe(o.services)}`);
  for (const [name, s] of Object.entries(o.services ?? {})) {
    const entry = knownKeys(s, ['strategy'], `services.${name}`);
    if (entry.strategy !== undefined) services.set(name, strategy(entry.strategy, `services.${name}.strategy`));
  }
  const hashKeyHeader = stringOption(o.hashKeyHeader, 'hashKeyHeader') ?? 'x-beacon-hash-key';
  if (!HEADER_NAME.test(hashKeyHeader)) throw invalidOption(`hashKeyHeader must be an HTTP header name, got ${describe(hashKeyHeader)}`);
  if (o.token !== undefined && typeof o.token !== 'string') throw invalidOption(`token must be a string, got ${describe(o.token)}`);
  if (o.agent !== undefined && !isPlainObject(o.agent)) throw invalidOption(`agent must be an object of undici Agent options, got ${describe(o.agent)}`);
  checkTls(o.tls);
  if (o.logger !== undefined && typeof o.logger !== 'function')
    throw invalidOption(`logger must be a function (level, message, fields) => void, got ${describe(o.logger)}`);
  return Object.freeze({
    servers: Object.freeze([...new Set(servers)]),
    serversGiven: o.servers !== undefined || Boolean(envServers),
    token: o.token ?? (env.BEACON_HTTP_TOKEN || env.BEACON_TOKEN || env.CONSUL_HTTP_TOKEN || undefined),
    datacenter: stringOption(o.datacenter, 'datacenter'),
    strategy: o.strategy === undefined ? 'p2c-ewma' : strategy(o.strategy, 'strategy'),
    serviceStrategies: services,
    retries: numberOption(o.retries, 'retries', 2, { min: 0, max: 10, integer: true }),
    hashKeyHeader: hashKeyHeader.toLowerCase(),
    requestTimeoutMs: numberOption(o.requestTimeoutMs, 'requestTimeoutMs', 10_000, { min: 100, unit: ' ms' }),
    waitMs: numberOption(o.waitMs, 'waitMs', 60_000, { min: 100, max: 600_000, unit: ' ms' }),
    allowStale: booleanOption(o.allowStale, 'allowStale', false),
    retry: Object.freeze({ baseMs: retryBase, maxMs: retryMax }),
    verifyRegistrationMs: numberOption(o.verifyRegistrationMs, 'verifyRegistrationMs', 30_000, { min: 1_000, unit: ' ms' }),
    signals: Object.freeze(signalList(o.deregisterOnSignals)),
    shutdownTimeoutMs: numberOption(o.shutdownTimeoutMs, 'shutdownTimeoutMs', 3_000, { min: 0, unit: ' ms' }),
  });
}
