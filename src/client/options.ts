import type { Agent } from 'undici';
import type { BalancerOptions, StrategyName } from './balance/index.js';
import { isStrategyName, STRATEGIES } from './balance/index.js';
import type { BackoffOptions } from './backoff.js';
import { invalidOption } from './client-error.js';
import type { Discovery, DnsDiscoveryOptions, StaticServices } from './discovery/index.js';
import type { ClientLogger } from './logger.js';
import type { OutlierOptions } from './routing/index.js';
import { normalizeServerUrl } from './transport/index.js';

/**
 * Options of {@link BeaconClient}. Every field is optional; defaults are listed per field.
 * Discovery uses the first of `discovery`, `static`, `dns` given, else the HTTP API of `servers`.
 */
export interface BeaconClientOptions {
  /** Beacon (or Consul) HTTP addresses, tried in order with failover. Default `$BEACON_HTTP_ADDR` or `$CONSUL_HTTP_ADDR` (comma-separated), else `http://127.0.0.1:8500`. */
  readonly servers?: readonly string[];
  /** ACL token, sent as `X-Consul-Token`. Default `$BEACON_TOKEN` or `$CONSUL_HTTP_TOKEN`. */
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
  /** Extra attempts on other instances for idempotent requests through fetch/dispatcher. Default 2. */
  readonly retries?: number;
  /** Request header carrying the consistent-hash key for fetch/dispatcher. Default `x-beacon-hash-key`. */
  readonly hashKeyHeader?: string;
  /** Timeout of registry calls (and connect), in ms. Default 10 000, floor 100. */
  readonly requestTimeoutMs?: number;
  /** `wait` of blocking queries, in ms. Default 60 000, floor 100, ceiling 600 000 (the server's cap). */
  readonly waitMs?: number;
  /** Let any server answer reads from its own view (`?stale`). Default false. */
  readonly allowStale?: boolean;
  /** Back-off of discovery retries while the registry is unreachable. Default 200 ms doubling to 30 s. */
  readonly retry?: Partial<BackoffOptions>;
  /** Check that instances without a TTL check are still registered this often, in ms. Default 30 000, floor 1 000. */
  readonly verifyRegistrationMs?: number;
  /** Signals that deregister this client's instances before exit; false to leave signals alone. Default SIGTERM and SIGINT. */
  readonly deregisterOnSignals?: readonly NodeJS.Signals[] | false;
  /** Longest wait for deregistration on a signal, in ms. Default 3 000. */
  readonly shutdownTimeoutMs?: number;
  /** undici Agent options for the connection pools (registry and services). */
  readonly agent?: Agent.Options;
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

function num(value: unknown, name: string, def: number, floor: number, ceiling = Infinity): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidOption(`${name} must be a finite number`);
  return Math.min(ceiling, Math.max(floor, value));
}

function strategy(value: unknown, name: string): StrategyName {
  if (!isStrategyName(value)) throw invalidOption(`${name} must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

/** Validates options once, applying defaults and floors; throws `BEACON_ERR_VALIDATION` naming the option. */
export function resolveConfig(o: BeaconClientOptions, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  if (typeof o !== 'object' || o === null) throw invalidOption('BeaconClient options must be an object');
  const envServers = env.BEACON_HTTP_ADDR || env.CONSUL_HTTP_ADDR;
  let servers: string[];
  if (o.servers !== undefined) {
    if (!Array.isArray(o.servers) || o.servers.length === 0)
      throw invalidOption('servers must be a non-empty array of addresses such as "http://127.0.0.1:8500"');
    servers = o.servers.map(normalizeServerUrl);
  } else servers = (envServers ? envServers.split(',') : ['http://127.0.0.1:8500']).map(normalizeServerUrl);
  const retryBase = num(o.retry?.baseMs, 'retry.baseMs', 200, 10);
  const services = new Map<string, StrategyName>();
  for (const [name, s] of Object.entries(o.services ?? {}))
    if (s?.strategy !== undefined) services.set(name, strategy(s.strategy, `services.${name}.strategy`));
  const signals = o.deregisterOnSignals === false ? [] : [...(o.deregisterOnSignals ?? ['SIGTERM', 'SIGINT'])];
  if (o.hashKeyHeader !== undefined && (typeof o.hashKeyHeader !== 'string' || o.hashKeyHeader === ''))
    throw invalidOption('hashKeyHeader must be a non-empty string');
  return Object.freeze({
    servers: Object.freeze([...new Set(servers)]),
    serversGiven: o.servers !== undefined || Boolean(envServers),
    token: o.token ?? (env.BEACON_TOKEN || env.CONSUL_HTTP_TOKEN || undefined),
    datacenter: o.datacenter,
    strategy: o.strategy === undefined ? 'p2c-ewma' : strategy(o.strategy, 'strategy'),
    serviceStrategies: services,
    retries: Math.floor(num(o.retries, 'retries', 2, 0, 10)),
    hashKeyHeader: (o.hashKeyHeader ?? 'x-beacon-hash-key').toLowerCase(),
    requestTimeoutMs: num(o.requestTimeoutMs, 'requestTimeoutMs', 10_000, 100),
    waitMs: num(o.waitMs, 'waitMs', 60_000, 100, 600_000),
    allowStale: o.allowStale ?? false,
    retry: Object.freeze({ baseMs: retryBase, maxMs: num(o.retry?.maxMs, 'retry.maxMs', 30_000, retryBase) }),
    verifyRegistrationMs: num(o.verifyRegistrationMs, 'verifyRegistrationMs', 30_000, 1_000),
    signals: Object.freeze(signals),
    shutdownTimeoutMs: num(o.shutdownTimeoutMs, 'shutdownTimeoutMs', 3_000, 0),
  });
}
