import { hostname } from 'node:os';
import { BeaconError } from '../errors/index.js';
import { formatHostPort, parseHostPort, type HostPort } from './address.js';
import { parseBool } from './bool.js';
import { parseDuration } from './duration.js';

/** Raw configuration: every field optional, as merged from config file, BEACON_* env and flags. */
export interface RawConfig {
  httpAddr?: string;
  dnsAddr?: string;
  dataDir?: string;
  datacenter?: string;
  node?: string;
  advertiseAddr?: string;
  logLevel?: string;
  store?: string;
  /** Key prefix of this cluster in a shared store (etcd default `/beacon/<datacenter>/`). */
  storePrefix?: string;
  /** How long a server may go without renewing its session before it counts as dead (default 10s). */
  sessionTtl?: string;
  /** etcd+https://: PEM CA of the etcd members' certificates (default Node's roots). */
  storeCa?: string;
  /** etcd+https://: PEM client certificate for members that require one, with storeKey. */
  storeCert?: string;
  storeKey?: string;
  maxBodyBytes?: number | string;
  /** Open HTTP connections one client address may hold (Consul's http_max_conns_per_client); 0: no limit. */
  httpMaxConnsPerClient?: number | string;
  domain?: string;
  altDomain?: string;
  recursors?: string[] | string;
  dnsOnlyPassing?: boolean | string;
  dnsServiceTtl?: string;
  dnsNodeTtl?: string;
  dnsARecordLimit?: number | string;
  /** DNS answers per second per client prefix over UDP (0: off; default 100 off loopback, off on loopback). */
  dnsRrlRate?: number | string;
  /** Every n-th answer over the rate is sent truncated instead of dropped (default 2; 0: drop all). */
  dnsRrlSlip?: number | string;
  /** Writes (PUT, POST, DELETE) per second one client address may make; 0 (default): no limit. */
  httpWriteRate?: number | string;
  /** PEM certificate (chain) file: with tlsKey, the HTTP API is served over HTTPS. */
  tlsCert?: string;
  /** PEM private key file of tlsCert. */
  tlsKey?: string;
  /** PEM CA bundle: verifies client certificates (tlsVerifyIncoming) and, in cluster mode, the other servers. */
  tlsCa?: string;
  /** Require a client certificate signed by tlsCa on every HTTPS connection (mTLS). */
  tlsVerifyIncoming?: boolean | string;
  /** What a request no rule covers may do: allow (default) or deny. */
  aclDefaultPolicy?: string;
  /** The token whose view DNS answers with (default: the anonymous token's). */
  aclDnsToken?: string;
  /** The token this server presents on its own calls to other servers (forwarded heartbeats). */
  aclAgentToken?: string;
  /** Let health checks reach link-local metadata addresses (169.254.169.254, fd00:ec2::254); default false. */
  allowMetadataChecks?: boolean | string;
  enableScriptChecks?: boolean | string;
  enableLocalScriptChecks?: boolean | string;
  checkFailuresBeforeCritical?: number | string;
  /**
   * Start even though the store's data is damaged, with what is readable (the damage is set
   * aside and logged). A flag only (`--recover`): it is meant for one start, not for a config
   * file or the environment.
   */
  recover?: boolean | string;
  /** Events held in the history (default 10000, at least 100). */
  eventHistory?: number | string;
  /** Age past which events leave the history (default 1h, 1m to 7d). */
  eventHistoryAge?: string;
  /** Webhook the events are posted to as JSON lines (http or https URL). */
  eventSink?: string;
  /** File the events are appended to as JSON lines. */
  eventLog?: string;
  /** Service definitions (Consul's agent register bodies), from the config file only. */
  services?: unknown[];
  /** Check definitions (Consul's check register bodies), from the config file only. */
  checks?: unknown[];
  /** Servers of other datacenters to join over the WAN: `http://host:port` or `host:port` (repeatable). */
  joinWan?: string[] | string;
  /** How often WAN membership is exchanged with each other datacenter (default 5s, 100ms to 5m). */
  wanInterval?: string;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface DnsConfig {
  /** null when DNS is off. */
  addr: HostPort | null;
  /** Lower-case, with a trailing dot: "consul." */
  domain: string;
  altDomain: string | null;
  recursors: HostPort[];
  recursorTimeoutMs: number;
  onlyPassing: boolean;
  /** Seconds; `overrides` maps a service name or "prefix*" to a TTL. */
  serviceTtl: { default: number; overrides: Readonly<Record<string, number>> };
  nodeTtl: number;
  /** 0 = no limit. */
  aRecordLimit: number;
  /** Response rate limiting over UDP per client prefix (IPv4 /24, IPv6 /56); 0 answers per second: off. */
  rateLimit: { responsesPerSecond: number; slip: number };
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  caFile: string | null;
  /** Clients must present a certificate signed by caFile. */
  verifyIncoming: boolean;
}

/** The validated, frozen runtime configuration. */
export interface RuntimeConfig {
  http: HostPort;
  dataDir: string;
  datacenter: string;
  node: string;
  advertiseAddr: string;
  logLevel: LogLevel;
  store: string;
  /**
   * Every key is kept under this prefix of the store (null: none). Default for an etcd store
   * `/beacon/<datacenter>/`, so several datacenters or test runs can share one etcd; none for
   * the embedded store.
   */
  storePrefix: string | null;
  /** Session TTL in seconds: a server silent this long counts as dead (its serfHealth critical, its checks move). */
  sessionTtlSeconds: number;
  /** Files for TLS to etcd (`etcd+https://`); null when none is given. */
  storeTls: { caFile?: string; certFile?: string; keyFile?: string } | null;
  maxBodyBytes: number;
  /** Open HTTP connections one client address may hold (default 200; 0: no limit). */
  httpMaxConnsPerClient: number;
  /** Writes per second one client address may make (PUT, POST, DELETE; heartbeats excepted); 0: no limit. */
  httpWriteRate: number;
  /** HTTPS for the HTTP API (null: plain HTTP). Files are read at start and again on SIGHUP. */
  tls: TlsConfig | null;
  acl: {
    /** What a request no rule covers may do. */
    defaultPolicy: 'allow' | 'deny';
    /** Secret of the token DNS answers with (null: anonymous). */
    dnsToken: string | null;
    /** Secret this server sends on its calls to other servers (null: none). */
    agentToken: string | null;
  };
  dns: DnsConfig;
  /** Start with what is readable when the store's data is damaged (`--recover`); default false. */
  recover: boolean;
  /** Services and checks defined in the config file, registered at start (validated by the server). */
  definitions: { services: readonly unknown[]; checks: readonly unknown[] };
  checks: {
    enableScriptChecks: boolean;
    enableLocalScriptChecks: boolean;
    failuresBeforeCritical: number;
    /** Whether checks may target link-local metadata addresses (169.254.169.254 and the like). */
    allowMetadataAddresses: boolean;
  };
  /** Federation: the other datacenters' servers to join (host:port of their HTTP API), and the exchange period. */
  wan: { join: readonly string[]; intervalMs: number };
  /** The event history and its sinks (src/events). */
  events: {
    historyEvents: number;
    historyAgeMs: number;
    sinkUrl: string | null;
    logFile: string | null;
  };
}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const NAME = /^[a-zA-Z0-9_.-]{1,63}$/;

function bad(field: string, message: string): BeaconError {
  return new BeaconError('BEACON_ERR_CONFIG', `invalid ${field}: ${message}`, { field });
}

function addr(field: string, v: string): HostPort {
  const a = parseHostPort(v);
  if (!a) throw bad(field, `"${v}" is not HOST:PORT (port 0-65535)`);
  return a;
}

function bool(field: string, v: boolean | string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  const b = parseBool(v);
  if (b === undefined) throw bad(field, `"${v}" is not a boolean (true, false, 1, 0, t, f)`);
  return b;
}

function int(field: string, v: number | string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw bad(field, `"${v}" must be an integer from ${min} to ${max}`);
  return n;
}

function seconds(field: string, v: string, min = 0, max = 86_400): number {
  const ms = parseDuration(v);
  if (ms === undefined || ms < min * 1000 || ms > max * 1000) throw bad(field, `"${v}" must be a duration like 5s or 1m, from ${min}s to ${max}s`);
  return Math.round(ms / 1000);
}

function serviceTtl(v: string | undefined): DnsConfig['serviceTtl'] {
  const overrides: Record<string, number> = {};
  let dflt = 5;
  for (const part of (v ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) dflt = seconds('dnsServiceTtl', part);
    else overrides[part.slice(0, eq).trim()] = seconds('dnsServiceTtl', part.slice(eq + 1).trim());
  }
  return { default: dflt, overrides: Object.freeze(overrides) };
}

function domain(field: string, v: string): string {
  const d = v.trim().toLowerCase().replace(/\.?$/, '.');
  if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+$/.test(d)) throw bad(field, `"${v}" is not a DNS domain`);
  return d;
}

/** Validates raw config once into a frozen runtime config, applying defaults and floors. */
export function buildConfig(raw: RawConfig): RuntimeConfig {
  const datacenter = raw.datacenter ?? 'dc1';
  if (!NAME.test(datacenter)) throw bad('datacenter', `"${datacenter}" may hold only letters, digits, '_', '.', '-' (1-63)`);
  const node = raw.node ?? hostname();
  if (!/^[^\s/]{1,128}$/.test(node)) throw bad('node', `"${node}" must be 1-128 characters without spaces or '/'`);
  const logLevel = (raw.logLevel ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw bad('logLevel', `"${raw.logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const http = addr('httpAddr', raw.httpAddr ?? '127.0.0.1:8500');
  const dnsAddr = raw.dnsAddr ?? '127.0.0.1:8600';
  const recursors =
    raw.recursors === undefined
      ? []
      : (Array.isArray(raw.recursors) ? raw.recursors : raw.recursors.split(','))
          .map((r) => r.trim())
          .filter(Boolean)
          .map((r) => addr('recursors', r.includes(':') ? r : `${r}:53`));
  for (const r of recursors) if (r.port === 0) throw bad('recursors', `"${r.host}:0" needs a real port (53 is the usual one)`);
  const advertiseAddr = raw.advertiseAddr ?? (http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host);
  const store = raw.store ?? 'embedded';
  const cfg: RuntimeConfig = {
    http,
    dataDir: raw.dataDir ?? './data',
    datacenter,
    node,
    advertiseAddr,
    logLevel,
    store,
    storePrefix: storePrefix(raw.storePrefix, store, datacenter),
    sessionTtlSeconds: sessionTtl(raw.sessionTtl),
    storeTls: storeTls(raw),
    maxBodyBytes: int('maxBodyBytes', raw.maxBodyBytes, 1 << 20, 1024, 64 << 20),
    httpMaxConnsPerClient: int('httpMaxConnsPerClient', raw.httpMaxConnsPerClient, 200, 0, 100_000),
    httpWriteRate: int('httpWriteRate', raw.httpWriteRate, 0, 0, 1_000_000),
    tls: tlsConfig(raw),
    acl: {
      defaultPolicy: aclDefaultPolicy(raw.aclDefaultPolicy),
      dnsToken: secretOf('aclDnsToken', raw.aclDnsToken),
      agentToken: secretOf('aclAgentToken', raw.aclAgentToken),
    },
    recover: bool('recover', raw.recover, false),
    dns: {
      addr: dnsAddr === 'off' ? null : addr('dnsAddr', dnsAddr),
      domain: domain('domain', raw.domain ?? 'consul'),
      altDomain: raw.altDomain ? domain('altDomain', raw.altDomain) : null,
      recursors,
      recursorTimeoutMs: 2000,
      onlyPassing: bool('dnsOnlyPassing', raw.dnsOnlyPassing, false),
      serviceTtl: serviceTtl(raw.dnsServiceTtl),
      nodeTtl: raw.dnsNodeTtl === undefined ? 0 : seconds('dnsNodeTtl', raw.dnsNodeTtl),
      aRecordLimit: int('dnsARecordLimit', raw.dnsARecordLimit, 0, 0, 4096),
      rateLimit: {
        responsesPerSecond: int('dnsRrlRate', raw.dnsRrlRate, dnsAddr !== 'off' && isLoopbackHost(dnsAddr) ? 0 : 100, 0, 1_000_000),
        slip: int('dnsRrlSlip', raw.dnsRrlSlip, 2, 0, 10),
      },
    },
    definitions: { services: list('services', raw.services), checks: list('checks', raw.checks) },
    checks: {
      enableScriptChecks: bool('enableScriptChecks', raw.enableScriptChecks, false),
      enableLocalScriptChecks: bool('enableLocalScriptChecks', raw.enableLocalScriptChecks, false),
      failuresBeforeCritical: int('checkFailuresBeforeCritical', raw.checkFailuresBeforeCritical, 2, 1, 100),
      allowMetadataAddresses: bool('allowMetadataChecks', raw.allowMetadataChecks, false),
    },
    wan: wanConfig(raw),
    events: eventsConfig(raw),
  };
  return deepFreeze(cfg);
}

function storeTls(raw: RawConfig): RuntimeConfig['storeTls'] {
  const out: { caFile?: string; certFile?: string; keyFile?: string } = {};
  if (raw.storeCa) out.caFile = raw.storeCa;
  if (raw.storeCert) out.certFile = raw.storeCert;
  if (raw.storeKey) out.keyFile = raw.storeKey;
  if (Object.keys(out).length === 0) return null;
  if (!/^etcd\+https:\/\//i.test(raw.store ?? ''))
    throw bad(raw.storeCa ? 'storeCa' : raw.storeCert ? 'storeCert' : 'storeKey', 'needs an etcd+https:// store URL (--store)');
  if ((out.certFile === undefined) !== (out.keyFile === undefined))
    throw bad(out.certFile ? 'storeKey' : 'storeCert', 'a client certificate for etcd needs both --store-cert and --store-key');
  return out;
}

function aclDefaultPolicy(v: string | undefined): 'allow' | 'deny' {
  if (v === undefined) return 'allow';
  if (v !== 'allow' && v !== 'deny') throw bad('aclDefaultPolicy', `"${v}" must be allow or deny`);
  return v;
}

function secretOf(field: string, v: string | undefined): string | null {
  if (v === undefined || v === '') return null;
  if (v.length > 256 || !/^[\x21-\x7e]+$/.test(v)) throw bad(field, 'must be a token secret: 1-256 printable characters without spaces');
  return v;
}

function tlsConfig(raw: RawConfig): TlsConfig | null {
  const path = (field: string, v: string | undefined): string | null => {
    if (v === undefined || v === '') return null;
    if (v.length > 4096 || v.includes('\0')) throw bad(field, 'must be a file path');
    return v;
  };
  const certFile = path('tlsCert', raw.tlsCert);
  const keyFile = path('tlsKey', raw.tlsKey);
  const caFile = path('tlsCa', raw.tlsCa);
  const verifyIncoming = bool('tlsVerifyIncoming', raw.tlsVerifyIncoming, false);
  if (certFile === null && keyFile === null) {
    if (caFile !== null) throw bad('tlsCa', 'needs --tls-cert and --tls-key (the CA verifies clients of the HTTPS API)');
    if (verifyIncoming) throw bad('tlsVerifyIncoming', 'needs --tls-cert, --tls-key and --tls-ca');
    return null;
  }
  if (certFile === null) throw bad('tlsCert', 'is missing: --tls-key needs --tls-cert');
  if (keyFile === null) throw bad('tlsKey', 'is missing: --tls-cert needs --tls-key');
  if (verifyIncoming && caFile === null) throw bad('tlsVerifyIncoming', 'needs --tls-ca, the CA that signs client certificates');
  return { certFile, keyFile, caFile, verifyIncoming };
}

/** Whether a HOST:PORT names a loopback host (127.0.0.0/8, ::1, localhost). */
function isLoopbackHost(hostPort: string): boolean {
  const a = parseHostPort(hostPort);
  if (!a) return false;
  const h = a.host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

function eventsConfig(raw: RawConfig): RuntimeConfig['events'] {
  let ageMs = 3_600_000;
  if (raw.eventHistoryAge !== undefined) {
    const ms = parseDuration(raw.eventHistoryAge);
    if (ms === undefined || ms < 60_000 || ms > 7 * 86_400_000)
      throw bad('eventHistoryAge', `"${raw.eventHistoryAge}" must be a duration from 1m to 168h, like 1h`);
    ageMs = ms;
  }
  let sinkUrl: string | null = null;
  if (raw.eventSink !== undefined && raw.eventSink !== '') {
    let u: URL | undefined;
    try {
      u = new URL(raw.eventSink);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw bad('eventSink', `"${raw.eventSink}" is not an http:// or https:// URL`);
    sinkUrl = u.href;
  }
  const logFile = raw.eventLog === undefined || raw.eventLog === '' ? null : raw.eventLog;
  if (logFile !== null && /[\u0000]/.test(logFile)) throw bad('eventLog', 'the path holds a NUL character');
  return { historyEvents: int('eventHistory', raw.eventHistory, 10_000, 100, 1_000_000), historyAgeMs: ageMs, sinkUrl, logFile };
}

/** Whether a store URL names etcd. */
export const isEtcdUrl = (url: string): boolean => /^etcd(\+https?)?:\/\//i.test(url);

function storePrefix(v: string | undefined, store: string, datacenter: string): string | null {
  if (v === undefined || v === '') return isEtcdUrl(store) ? `/beacon/${datacenter}/` : null;
  if (!v.endsWith('/') || /[\u0000-\u001f\u007f]/.test(v) || v.length > 256) {
    throw bad('storePrefix', `"${v}" must end in '/', hold no control characters and be at most 256 characters (e.g. /beacon/dc1/)`);
  }
  return v;
}

const SESSION_TTL_MIN_S = 2;
const SESSION_TTL_MAX_S = 300;

function sessionTtl(v: string | undefined): number {
  if (v === undefined) return 10;
  const ms = parseDuration(v);
  if (ms === undefined || ms < SESSION_TTL_MIN_S * 1000 || ms > SESSION_TTL_MAX_S * 1000 || ms % 1000 !== 0) {
    throw bad('sessionTtl', `"${v}" must be a whole number of seconds from ${SESSION_TTL_MIN_S}s to ${SESSION_TTL_MAX_S / 60}m, like 10s`);
  }
  return ms / 1000;
}

function wanConfig(raw: RawConfig): RuntimeConfig['wan'] {
  const j: unknown = raw.joinWan;
  if (j !== undefined && typeof j !== 'string' && !(Array.isArray(j) && j.every((x) => typeof x === 'string'))) {
    throw bad('joinWan', 'must be a list of http://HOST:PORT addresses (or one comma-separated string)');
  }
  const given = j === undefined ? [] : Array.isArray(j) ? j : j.split(',');
  const join: string[] = [];
  for (const entry of given.map((j) => j.trim()).filter(Boolean)) {
    const m = /^(?:https?:\/\/)?([^/]+?)\/?$/i.exec(entry);
    const hp = m ? parseHostPort(m[1]) : undefined;
    if (!hp || hp.port === 0) throw bad('joinWan', `"${entry}" is not http://HOST:PORT or HOST:PORT of another datacenter's server`);
    if (!join.includes(formatHostPort(hp))) join.push(formatHostPort(hp));
  }
  if (join.length > 64) throw bad('joinWan', 'names more than 64 servers');
  let intervalMs = 5000;
  if (raw.wanInterval !== undefined) {
    const ms = typeof raw.wanInterval === 'string' ? parseDuration(raw.wanInterval) : undefined;
    if (ms === undefined || ms < 100 || ms > 300_000) throw bad('wanInterval', `"${raw.wanInterval}" must be a duration from 100ms to 5m, like 5s`);
    intervalMs = ms;
  }
  return { join, intervalMs };
}

function list(field: string, v: unknown[] | undefined): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(field, 'must be a list of definitions');
  if (v.length > 10_000) throw bad(field, 'holds more than 10,000 definitions');
  return structuredClone(v);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
