/**
 * Consul's semantic rules for registrations, turning request bodies (keys already in Consul's
 * PascalCase) into catalog records: defaults, validation, generated check IDs. The HTTP API,
 * the config file loader and the agent all build records here. Messages keep Consul's text
 * (clients match on it) and name the field at fault.
 */
import { parseDuration } from '../config/index.js';
import { BeaconError, invalid } from '../errors/index.js';
import type { CheckDefinition, CheckRecord, CheckType, HealthStatus, ServiceRecord } from './types.js';

/** Server settings the rules depend on. */
export interface RegistrationPolicy {
  /** Script checks (Args) may be registered. */
  enableScriptChecks: boolean;
  /** The registration was read from this node's own config file (marks its script checks LocalScript). */
  fromLocalFile?: boolean;
}

type Body = Record<string, unknown>;
const STATUSES: readonly string[] = ['passing', 'warning', 'critical'];
const META_KEY = /^[a-zA-Z0-9_-]{1,128}$/;
/** Shortest check interval: shorter ones are raised to it, as Consul does (checks.MinInterval). */
const MIN_INTERVAL_MS = 1000;
/** An HTTP method is a token (RFC 9110 §5.6.2), as Go's http.NewRequest requires. */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/;
const OUTPUT_MAX = 4096;

const s = (v: unknown): string => (typeof v === 'string' ? v : '');

/** In a `u` regex a surrogate pair is one code point, so this matches only an unpaired one. */
const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Refuses a string with an unpaired UTF-16 surrogate (a JSON `"\ud800"` escape): it has no
 * UTF-8 form, so it can be neither a store key nor part of an answer. The HTTP API refuses such
 * bodies first; this covers every other source (config files, the agent).
 */
function utf8(field: string, v: string): string {
  if (LONE_SURROGATE.test(v)) throw invalid(field, `Invalid ${field}: contains an unpaired UTF-16 surrogate`);
  return v;
}

function duration(field: string, v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const ms = parseDuration(v);
  if (ms === undefined)
    throw invalid(
      field,
      `Invalid ${field}: "${typeof v === 'string' ? v : JSON.stringify(v)}" is not a duration (use Go syntax such as 10s, 1m30s or 500ms, or nanoseconds)`,
    );
  return ms;
}

export function validateMeta(field: string, meta: unknown): Record<string, string> {
  if (!meta) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta as Record<string, string>)) {
    if (!META_KEY.test(k)) throw invalid(`${field}.${k}`, `Invalid ${field}: key "${k}" must be 1-128 characters of letters, digits, '-' and '_'`);
    if (k.startsWith('consul-')) throw invalid(`${field}.${k}`, `Invalid ${field}: key "${k}" has the reserved prefix "consul-"`);
    out[k] = typeof v === 'string' ? utf8(`${field}.${k}`, v) : v;
  }
  return out;
}

function checkType(c: Body): CheckType {
  if (c.TTL !== undefined && c.TTL !== '' && c.TTL !== null) return 'ttl';
  if (s(c.HTTP)) return 'http';
  if (s(c.TCP)) return 'tcp';
  if (s(c.GRPC)) return 'grpc';
  if (Array.isArray(c.Args) && c.Args.length > 0) return 'script';
  return '';
}

/** Builds a check record from a CheckType body (agent register forms). */
export function buildCheck(
  c: Body,
  opts: { node: string; field: string; defaultId: string; defaultName: string; service?: ServiceRecord; policy: RegistrationPolicy },
): CheckRecord {
  const f = opts.field;
  /** The field's name as the client sent it: prefixed inside a registration, bare for /v1/agent/check/register. */
  const at = (k: string): string => (f ? `${f}.${k}` : k);
  const type = checkType(c);
  if (s(c.Script)) throw invalid(at('Script'), `Invalid check: the legacy Script field is not supported; use Args`);
  const ttl = duration(at('TTL'), c.TTL);
  const interval = duration(at('Interval'), c.Interval);
  const timeout = duration(at('Timeout'), c.Timeout);
  const reap = duration(at('DeregisterCriticalServiceAfter'), c.DeregisterCriticalServiceAfter);
  if (ttl !== undefined && interval !== undefined) throw invalid(f || 'body', 'Invalid check: Interval and TTL cannot both be specified');
  if (type === '') throw invalid(f || 'body', 'Invalid check: one of TTL, HTTP, TCP, GRPC or Args must be set');
  if (type === 'ttl' && !(ttl! > 0)) throw invalid(at('TTL'), 'Invalid check: TTL must be > 0 for TTL checks');
  if (type !== 'ttl') {
    if (!(interval !== undefined && interval > 0))
      throw invalid(at('Interval'), 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks');
  }
  if (type === 'script' && !opts.policy.enableScriptChecks) {
    throw new BeaconError(
      'BEACON_ERR_SCRIPT_CHECKS_DISABLED',
      `Invalid check: Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true (start beacon server with --enable-script-checks)`,
      { field: at('Args') },
    );
  }
  if (type === 'http') {
    let u: URL;
    try {
      u = new URL(s(c.HTTP));
    } catch {
      throw invalid(at('HTTP'), `Invalid check: HTTP must be an absolute http(s) URL, got "${s(c.HTTP)}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(at('HTTP'), `Invalid check: HTTP must use http or https, got "${u.protocol}"`);
    if (s(c.Method) && !HTTP_TOKEN.test(s(c.Method)))
      throw invalid(at('Method'), `Invalid check: Method must be an HTTP method such as GET, HEAD or POST, got "${s(c.Method)}"`);
  }
  if (type === 'tcp' || type === 'grpc') {
    const k = type === 'tcp' ? 'TCP' : 'GRPC';
    // TCP is HOST:PORT; GRPC may add /service. The port must be one a connection can go to.
    const m = (type === 'tcp' ? /^(.+):(\d{1,5})$/ : /^([^/]+):(\d{1,5})(\/.*)?$/).exec(s(c[k]));
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw invalid(at(k), `Invalid check: ${k} must be HOST:PORT${type === 'grpc' ? '[/service]' : ''} with a port from 1 to 65535, got "${s(c[k])}"`);
    }
  }
  // Typed by the schema on the agent routes; a catalog Definition arrives untyped, so check here.
  if (c.TLSServerName !== undefined && c.TLSServerName !== null && (typeof c.TLSServerName !== 'string' || c.TLSServerName.length > 256)) {
    throw invalid(
      at('TLSServerName'),
      `Invalid check: TLSServerName must be a string of at most 256 characters, got ${JSON.stringify(c.TLSServerName).slice(0, 64)}`,
    );
  }
  if (c.TLSSkipVerify !== undefined && c.TLSSkipVerify !== null && typeof c.TLSSkipVerify !== 'boolean') {
    throw invalid(at('TLSSkipVerify'), `Invalid check: TLSSkipVerify must be a boolean, got ${JSON.stringify(c.TLSSkipVerify).slice(0, 64)}`);
  }
  const fbc = c.FailuresBeforeCritical as number | undefined;
  const fbw = c.FailuresBeforeWarning as number | undefined;
  if (fbw !== undefined && fbc !== undefined && fbw > fbc)
    throw invalid(at('FailuresBeforeWarning'), 'Invalid check: FailuresBeforeWarning must be less than or equal to FailuresBeforeCritical');
  let status: HealthStatus = 'critical';
  if (c.Status !== undefined && c.Status !== '') {
    if (!STATUSES.includes(s(c.Status))) throw invalid(at('Status'), `Status for checks must 'passing', 'warning', 'critical'`);
    status = c.Status as HealthStatus;
  }
  const def: CheckDefinition = {};
  if (type === 'http') {
    def.HTTP = s(c.HTTP);
    if (c.Method) def.Method = s(c.Method).toUpperCase();
    if (c.Header) def.Header = c.Header as Record<string, string[]>;
    if (c.Body) def.Body = s(c.Body);
    if (c.TLSSkipVerify) def.TLSSkipVerify = true;
    if (c.TLSServerName) def.TLSServerName = s(c.TLSServerName);
  }
  if (type === 'tcp') def.TCP = s(c.TCP);
  if (type === 'grpc') {
    def.GRPC = s(c.GRPC);
    if (c.GRPCUseTLS) def.GRPCUseTLS = true;
    if (c.TLSSkipVerify) def.TLSSkipVerify = true;
    if (c.TLSServerName) def.TLSServerName = s(c.TLSServerName);
  }
  if (type === 'script') {
    def.Args = c.Args as string[];
    if (opts.policy.fromLocalFile) def.LocalScript = true;
  }
  if (ttl !== undefined) def.TTLMs = ttl;
  // Consul raises an interval under the minimum to it (agent.go: "check has interval below minimum").
  if (interval !== undefined) def.IntervalMs = Math.max(interval, MIN_INTERVAL_MS);
  if (timeout !== undefined) def.TimeoutMs = timeout;
  if (reap !== undefined) def.DeregisterCriticalServiceAfterMs = reap;
  if (c.SuccessBeforePassing) def.SuccessBeforePassing = c.SuccessBeforePassing as number;
  if (fbc) def.FailuresBeforeCritical = fbc;
  if (fbw) def.FailuresBeforeWarning = fbw;
  def.OutputMaxSize = Math.min((c.OutputMaxSize as number | undefined) || OUTPUT_MAX, OUTPUT_MAX);
  const svc = opts.service;
  // Name first: the check ID may default to it, and the message should name the field sent.
  const name = utf8(at('Name'), s(c.Name) || opts.defaultName);
  return {
    Node: opts.node,
    CheckID: utf8(at('CheckID'), s(c.CheckID) || s(c.ID) || opts.defaultId),
    Name: name,
    Status: status,
    Notes: s(c.Notes),
    Output: '',
    ServiceID: svc?.ID ?? s(c.ServiceID),
    ServiceName: svc?.Service ?? '',
    ServiceTags: svc?.Tags ?? [],
    Type: type,
    Definition: def,
  };
}

/** A check of /v1/agent/check/register (Name required; ID defaults to it), under `service` when it names one. */
export function buildAgentCheck(b: Body, node: string, service: ServiceRecord | undefined, policy: RegistrationPolicy): CheckRecord {
  const name = s(b.Name);
  if (!name) throw invalid('Name', 'Missing check name');
  return buildCheck(b, { node, field: '', defaultId: name, defaultName: name, ...(service ? { service } : {}), policy });
}

/** Builds a service record from an agent/catalog service body; throws Consul's messages. */
export function buildService(b: Body, field = ''): ServiceRecord {
  const p = field ? `${field}.` : '';
  const name = utf8(`${p}Name`, s(b.Name) || s(b.Service));
  if (!name) throw invalid(`${p}Name`, 'Missing service name');
  const address = s(b.Address);
  if (address === '0.0.0.0' || address === '::' || address === '[::]') throw invalid(`${p}Address`, 'Invalid service address');
  const w = b.Weights as { Passing?: number; Warning?: number } | null | undefined;
  // No Weights: Consul's default {1, 1}. Weights given: a missing field is 0, as in Consul
  // (Go's zero value), so {Passing: 3} takes warning instances out of weighted traffic and
  // {Warning: 2} alone is refused for its Passing of 0.
  const weights = w ? { Passing: w.Passing ?? 0, Warning: w.Warning ?? 0 } : { Passing: 1, Warning: 1 };
  if (weights.Passing < 1) throw invalid(`${p}Weights.Passing`, 'Invalid Weights: Passing must be greater than 0');
  const tagged: ServiceRecord['TaggedAddresses'] = {};
  for (const [k, v] of Object.entries((b.TaggedAddresses ?? {}) as Record<string, { Address?: string; Port?: number }>)) {
    tagged[k] = { Address: v.Address ?? '', Port: v.Port ?? 0 };
  }
  const tags = (b.Tags as string[] | null) ?? [];
  tags.forEach((t, i) => utf8(`${p}Tags[${i}]`, t));
  return {
    ID: utf8(`${p}ID`, s(b.ID) || name),
    Service: name,
    Tags: tags,
    Address: address,
    TaggedAddresses: tagged,
    Meta: validateMeta(`${p}Meta`, b.Meta),
    Port: (b.Port as number | undefined) ?? 0,
    Weights: weights,
    EnableTagOverride: b.EnableTagOverride === true,
    Kind: s(b.Kind),
  };
}

/** The checks of an agent service registration (Check and Checks), with Consul's generated IDs. */
export function buildServiceChecks(b: Body, svc: ServiceRecord, node: string, policy: RegistrationPolicy): CheckRecord[] {
  const list: Body[] = [];
  if (b.Check && typeof b.Check === 'object') list.push(b.Check as Body);
  if (Array.isArray(b.Checks)) list.push(...(b.Checks as Body[]));
  const several = list.length > 1;
  const out = list.map((c, i) =>
    buildCheck(c, {
      node,
      policy,
      service: svc,
      field: b.Check && i === 0 ? 'Check' : `Checks[${b.Check ? i - 1 : i}]`,
      defaultId: several ? `service:${svc.ID}:${i + 1}` : `service:${svc.ID}`,
      defaultName: `Service '${svc.Service}' check`,
    }),
  );
  const ids = new Set<string>();
  for (const c of out) {
    if (ids.has(c.CheckID)) throw invalid('Checks', `Invalid check: duplicate CheckID "${c.CheckID}"`);
    ids.add(c.CheckID);
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The node part of a catalog registration, validated. */
export interface NodeRegistration {
  Node: string;
  Address: string;
  /** '' keeps the node's current ID, or makes one up for a new node. */
  ID: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
}

/** Validates the node fields of a /v1/catalog/register body. */
export function buildNodeRegistration(b: Body): NodeRegistration {
  const node = utf8('Node', s(b.Node));
  if (!node) throw invalid('Node', 'Missing node name');
  if (/[\s/]/.test(node)) throw invalid('Node', `Invalid Node: "${node}" may not contain spaces or '/'`);
  const address = s(b.Address);
  if (!address) throw invalid('Address', 'Missing node address');
  const id = s(b.ID);
  if (id && !UUID.test(id)) throw invalid('ID', `Invalid ID: "${id}" must be a UUID`);
  const tagged = { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address, ...((b.TaggedAddresses as Record<string, string> | null) ?? {}) };
  return { Node: node, Address: address, ID: id, TaggedAddresses: tagged, Meta: validateMeta('NodeMeta', b.NodeMeta) };
}

/**
 * A check of a /v1/catalog/register body: status and output as given (the catalog API runs
 * nothing); `Definition` (keys in PascalCase) is validated as an agent check would be. Its
 * ServiceName and ServiceTags are filled in by the register command from the service it names.
 */
export function buildCatalogCheck(raw: Body, node: string, field: string): CheckRecord {
  const name = utf8(`${field}.Name`, s(raw.Name));
  const checkId = utf8(`${field}.CheckID`, s(raw.CheckID) || name);
  if (!checkId) throw invalid(`${field}.CheckID`, 'Missing check ID (CheckID or Name)');
  const status = s(raw.Status) || 'critical';
  if (!STATUSES.includes(status)) throw invalid(`${field}.Status`, `Invalid check status: '${status}'`);
  const def = (raw.Definition && typeof raw.Definition === 'object' ? raw.Definition : {}) as Body;
  const defRecord =
    Object.keys(def).length > 0
      ? buildCheck(
          {
            ...def,
            Interval: def.Interval ?? def.IntervalDuration,
            Timeout: def.Timeout ?? def.TimeoutDuration,
            DeregisterCriticalServiceAfter: def.DeregisterCriticalServiceAfter ?? def.DeregisterCriticalServiceAfterDuration,
          },
          {
            node,
            field: `${field}.Definition`,
            defaultId: checkId,
            defaultName: name || checkId,
            policy: { enableScriptChecks: false },
          },
        ).Definition
      : {};
  return {
    Node: node,
    CheckID: checkId,
    Name: name || checkId,
    Status: status as HealthStatus,
    Notes: s(raw.Notes),
    Output: s(raw.Output).slice(0, OUTPUT_MAX),
    ServiceID: s(raw.ServiceID),
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Definition: defRecord,
  };
}
