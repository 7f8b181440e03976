import { isStrategyName, STRATEGIES, type StrategyName } from '../client/index.js';
import { parseDuration, parseHostPort, type HostPort } from '../config/index.js';
import { BeaconError } from '../errors/index.js';

/** Raw settings of `beacon gateway` / `beacon sidecar`, every field optional, as flags give them. */
export interface RawGatewayConfig {
  listen?: string;
  server?: readonly string[];
  routes?: string;
  admin?: string;
  accessLog?: boolean;
  strategy?: string;
  retries?: string | number;
  tryTimeout?: string;
  timeout?: string;
  shutdownGrace?: string;
  domain?: string;
  datacenter?: string;
  /** Sidecar: `name=HOST:PORT` per upstream. */
  upstream?: readonly string[];
  /** ACL token sent to Beacon as X-Consul-Token. */
  token?: string;
  /** TLS towards an https:// Beacon: CA, and a client certificate and key (PEM contents, read by the CLI). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Datacenters to try, in order, when a target's own has no healthy instance (`--failover dc2,dc3`, repeatable). */
  failover?: readonly string[];
}

/** One sidecar upstream: a local listener and the service it forwards to. */
export interface UpstreamSpec {
  /** As written on the command line (`payments`, `v2.payments.service.dc2.consul`). */
  readonly name: string;
  readonly service: string;
  readonly tag: string | undefined;
  readonly dc: string | undefined;
  readonly listen: HostPort;
}

/** The validated, frozen configuration the gateway and the sidecar run with. */
export interface GatewayConfig {
  /** Where the gateway takes requests (undefined for the sidecar). */
  readonly listen: HostPort | undefined;
  /** Beacon servers (or agents), tried in order with failover. */
  readonly servers: readonly string[];
  readonly routesFile: string | undefined;
  /** Admin address (`/routes`, `/metrics`, `/healthz`); undefined: no admin listener. */
  readonly admin: HostPort | undefined;
  readonly accessLog: boolean;
  readonly strategy: StrategyName;
  /** Extra tries of an idempotent request on other instances. */
  readonly retries: number;
  /** Time an instance gets to answer with headers (or to accept a TCP connection), per try. */
  readonly tryTimeoutMs: number;
  /** Time to response headers over all tries. */
  readonly timeoutMs: number;
  /** On SIGTERM, how long in-flight requests and connections may finish. */
  readonly shutdownGraceMs: number;
  readonly domain: string;
  /** Datacenter of discovery when a route names none (default the server's own). */
  readonly datacenter: string | undefined;
  readonly upstreams: readonly UpstreamSpec[];
  /** ACL token sent to Beacon (`X-Consul-Token`); undefined: none. */
  readonly token: string | undefined;
  /** TLS towards an https:// Beacon; undefined: Node's trust store, no client certificate. */
  readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  /** Datacenters tried in order when a target's own datacenter has no healthy instance (empty: none). */
  readonly failover: readonly string[];
}

/** Defaults (pinned by config.test.ts). */
export const GATEWAY_DEFAULTS = Object.freeze({
  strategy: 'p2c-ewma',
  retries: 2,
  tryTimeoutMs: 10_000,
  timeoutMs: 30_000,
  shutdownGraceMs: 10_000,
  domain: 'consul',
  accessLog: false,
});

function configError(field: string, message: string): BeaconError {
  return new BeaconError('BEACON_ERR_CONFIG', `invalid ${field}: ${message}`, { field });
}

function hostPort(field: string, value: string): HostPort {
  const hp = parseHostPort(value);
  if (!hp) throw configError(field, `"${value}" is not HOST:PORT (e.g. 127.0.0.1:8080)`);
  return hp;
}

function durationMs(field: string, value: string | undefined, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  const ms = parseDuration(value);
  if (ms === undefined) throw configError(field, `"${value}" is not a duration (e.g. 500ms, 10s, 1m)`);
  if (!(ms >= min && ms <= max)) throw configError(field, `"${value}" is out of range (${min} ms to ${max} ms)`);
  return ms;
}

function serverUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw configError('--server', `"${value}" is not a URL (e.g. http://127.0.0.1:8500)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configError('--server', `"${value}": only http:// and https:// are supported`);
  if (url.pathname !== '/' || url.search !== '') throw configError('--server', `"${value}": give only scheme, host and port`);
  return `${url.protocol}//${url.host}`;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/i;

/**
 * Reads a service target from a DNS-style name, as `dig` takes them: `payments`,
 * `payments.service.consul`, `payments.service.dc2.consul`, `v2.payments.service.consul`,
 * `v2.payments.service.dc2.consul`. Case-insensitive; a trailing dot and a `:port` are ignored.
 * Undefined when the name is not in one of these forms.
 */
export function serviceTarget(name: string, domain: string, bare = false): { service: string; tag: string | undefined; dc: string | undefined } | undefined {
  let h = name.toLowerCase();
  const colon = h.lastIndexOf(':');
  if (colon >= 0 && !h.includes(']')) h = h.slice(0, colon);
  h = h.replace(/\.$/, '');
  const labels = h.split('.');
  if (labels.length === 0 || !labels.every((l) => LABEL.test(l))) return undefined;
  if (labels.length === 1) return bare ? { service: labels[0], tag: undefined, dc: undefined } : undefined;
  const at = labels.indexOf('service');
  if (at < 1 || at > 2) return undefined;
  const rest = labels.slice(at + 1);
  const d = domain.toLowerCase();
  let dc: string | undefined;
  if (rest.length === 1 && rest[0] === d) dc = undefined;
  else if (rest.length === 2 && rest[1] === d) dc = rest[0];
  else return undefined;
  return at === 1 ? { service: labels[0], tag: undefined, dc } : { service: labels[1], tag: labels[0], dc };
}

function upstreamSpec(value: string, domain: string): UpstreamSpec {
  const eq = value.lastIndexOf('=');
  if (eq <= 0) throw configError('--upstream', `"${value}" is not NAME=HOST:PORT (e.g. payments=127.0.0.1:9191)`);
  const name = value.slice(0, eq);
  const target = serviceTarget(name, domain, true);
  if (!target) throw configError('--upstream', `"${name}" is not a service name (payments, or v2.payments.service.dc2.${domain})`);
  return { name, ...target, listen: hostPort('--upstream', value.slice(eq + 1)) };
}

/**
 * Validates raw settings once into a frozen config. `mode` says which command runs: the gateway
 * needs `listen`, the sidecar needs at least one upstream. Throws `BEACON_ERR_CONFIG` naming the
 * flag at fault.
 */
export function buildGatewayConfig(raw: RawGatewayConfig, mode: 'gateway' | 'sidecar'): GatewayConfig {
  const domain = (raw.domain ?? GATEWAY_DEFAULTS.domain).toLowerCase();
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(domain)) throw configError('--domain', `"${raw.domain}" is not a DNS domain`);
  let listen: HostPort | undefined;
  if (mode === 'gateway') {
    if (raw.listen === undefined) throw configError('--listen', 'required (e.g. --listen 127.0.0.1:8080)');
    listen = hostPort('--listen', raw.listen);
  } else if (raw.listen !== undefined) throw configError('--listen', 'the sidecar listens per --upstream');
  const servers = (raw.server?.length ? raw.server : ['http://127.0.0.1:8500']).map(serverUrl);
  const strategy = raw.strategy ?? GATEWAY_DEFAULTS.strategy;
  if (!isStrategyName(strategy)) throw configError('--strategy', `"${strategy}" is not one of ${STRATEGIES.join(', ')}`);
  let retries: number = GATEWAY_DEFAULTS.retries;
  if (raw.retries !== undefined) {
    retries = typeof raw.retries === 'number' ? raw.retries : /^\d+$/.test(raw.retries) ? Number(raw.retries) : NaN;
    if (!(Number.isInteger(retries) && retries >= 0 && retries <= 5)) throw configError('--retries', `"${raw.retries}" is not an integer from 0 to 5`);
  }
  const tryTimeoutMs = durationMs('--try-timeout', raw.tryTimeout, GATEWAY_DEFAULTS.tryTimeoutMs, 50, 600_000);
  const timeoutMs = durationMs('--timeout', raw.timeout, Math.max(GATEWAY_DEFAULTS.timeoutMs, tryTimeoutMs), 50, 3_600_000);
  if (timeoutMs < tryTimeoutMs) throw configError('--timeout', `must be at least --try-timeout (${tryTimeoutMs} ms)`);
  const shutdownGraceMs = durationMs('--shutdown-grace', raw.shutdownGrace, GATEWAY_DEFAULTS.shutdownGraceMs, 0, 600_000);
  if (raw.datacenter !== undefined && !LABEL.test(raw.datacenter)) throw configError('--datacenter', `"${raw.datacenter}" is not a datacenter name`);
  const upstreams = (raw.upstream ?? []).map((u) => upstreamSpec(u, domain));
  if (mode === 'sidecar' && upstreams.length === 0) throw configError('--upstream', 'at least one is required (e.g. --upstream payments=127.0.0.1:9191)');
  if (mode === 'gateway' && upstreams.length > 0) throw configError('--upstream', 'is a flag of beacon sidecar');
  if (mode === 'sidecar' && raw.routes !== undefined) throw configError('--routes', 'is a flag of beacon gateway');
  const seen = new Set<string>();
  for (const u of upstreams) {
    if (u.listen.port === 0) continue;
    const key = `${u.listen.host}:${u.listen.port}`;
    if (seen.has(key)) throw configError('--upstream', `two upstreams listen on ${key}`);
    seen.add(key);
  }
  return Object.freeze({
    listen,
    servers: Object.freeze(servers),
    routesFile: raw.routes,
    admin: raw.admin === undefined ? undefined : hostPort('--admin', raw.admin),
    accessLog: raw.accessLog ?? GATEWAY_DEFAULTS.accessLog,
    strategy,
    retries,
    tryTimeoutMs,
    timeoutMs,
    shutdownGraceMs,
    domain,
    datacenter: raw.datacenter,
    upstreams: Object.freeze(upstreams),
    token: raw.token === '' ? undefined : raw.token,
    tls: raw.tls,
    failover: failoverList(raw.failover),
  });
}

/** `--failover dc2,dc3` (repeatable): datacenter names, in order, each once. */
function failoverList(raw: readonly string[] | undefined): readonly string[] {
  const out: string[] = [];
  for (const part of (raw ?? []).flatMap((v) => v.split(','))) {
    const dc = part.trim();
    if (dc === '') continue;
    if (!/^[A-Za-z0-9_.-]{1,63}$/.test(dc)) throw configError('--failover', `"${dc}" is not a datacenter name`);
    if (!out.includes(dc)) out.push(dc);
  }
  if (out.length > 16) throw configError('--failover', 'at most 16 datacenters');
  return Object.freeze(out);
}
