/**
 * Consul decodes request bodies case-insensitively and also takes snake_case keys. This maps
 * every key of a known struct to its canonical PascalCase name, leaving user maps (Meta, Header,
 * NodeMeta, ...) untouched. A shape lists a struct's fields; nested shapes recurse.
 */
import { MAX_BODY_DEPTH, bodyTooDeep } from './body.js';

export interface Shape {
  /** Canonical field names of the struct. */
  fields: readonly string[];
  /** Fields holding a nested struct (or a list of them). */
  nested?: Readonly<Record<string, Shape>>;
  /** Alternative spellings (lower-case, no underscores) -> canonical field. */
  aliases?: Readonly<Record<string, string>>;
}

const fold = (k: string) => k.replace(/[_-]/g, '').toLowerCase();

const compiled = new WeakMap<Shape, Map<string, string>>();
function lookup(shape: Shape): Map<string, string> {
  let m = compiled.get(shape);
  if (!m) {
    m = new Map();
    for (const f of shape.fields) m.set(fold(f), f);
    for (const [a, f] of Object.entries(shape.aliases ?? {})) m.set(fold(a), f);
    compiled.set(shape, m);
  }
  return m;
}

/**
 * Returns a copy of `value` with the keys of known structs made canonical. Unknown keys are kept
 * as given. Nesting deeper than MAX_BODY_DEPTH (arrays of arrays of ...) answers 400 `Request
 * body nested too deeply` instead of running out of stack.
 */
export function normalizeKeys(value: unknown, shape: Shape): unknown {
  return normalizeAt(value, shape, 0);
}

function normalizeAt(value: unknown, shape: Shape, depth: number): unknown {
  if (!value || typeof value !== 'object') return value;
  if (depth >= MAX_BODY_DEPTH) throw bodyTooDeep();
  if (Array.isArray(value)) return value.map((v) => normalizeAt(v, shape, depth + 1));
  const m = lookup(shape);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const canon = m.get(fold(k)) ?? k;
    const sub = shape.nested?.[canon];
    // A later exact-case key wins over an earlier differently-cased one, as Go's decoder does.
    out[canon] = sub ? normalizeAt(v, sub, depth + 1) : v;
  }
  return out;
}

const CHECK_FIELDS = [
  'CheckID',
  'ID',
  'Name',
  'Notes',
  'Status',
  'ServiceID',
  'Args',
  'Script',
  'HTTP',
  'Method',
  'Header',
  'Body',
  'TLSServerName',
  'TLSSkipVerify',
  'TCP',
  'TCPUseTLS',
  'UDP',
  'GRPC',
  'GRPCUseTLS',
  'H2PING',
  'H2PingUseTLS',
  'DockerContainerID',
  'Shell',
  'OSService',
  'AliasNode',
  'AliasService',
  'Interval',
  'Timeout',
  'TTL',
  'OutputMaxSize',
  'DeregisterCriticalServiceAfter',
  'SuccessBeforePassing',
  'FailuresBeforeWarning',
  'FailuresBeforeCritical',
  'Output',
  'DisableRedirects',
  'Node',
  'Definition',
  'Namespace',
  'Partition',
  'Type',
] as const;

export const CHECK_SHAPE: Shape = {
  fields: CHECK_FIELDS,
  aliases: {
    scriptargs: 'Args',
    checkid: 'CheckID',
    serviceid: 'ServiceID',
    tlsskipverify: 'TLSSkipVerify',
    deregistercriticalserviceafter: 'DeregisterCriticalServiceAfter',
  },
  nested: {
    Definition: {
      fields: [...CHECK_FIELDS, 'IntervalDuration', 'TimeoutDuration', 'DeregisterCriticalServiceAfterDuration'],
    },
  },
};

const WEIGHTS_SHAPE: Shape = { fields: ['Passing', 'Warning'] };
const TAGGED_SHAPE: Shape = { fields: ['Address', 'Port'] };

export const SERVICE_SHAPE: Shape = {
  fields: [
    'ID',
    'Name',
    'Service',
    'Tags',
    'Address',
    'TaggedAddresses',
    'Meta',
    'Port',
    'SocketPath',
    'Kind',
    'Proxy',
    'Connect',
    'EnableTagOverride',
    'Weights',
    'Check',
    'Checks',
    'Namespace',
    'Partition',
    'Locality',
  ],
  nested: { Weights: WEIGHTS_SHAPE, Check: CHECK_SHAPE, Checks: CHECK_SHAPE },
};

/** TaggedAddresses of a service hold {Address, Port} objects under user-chosen keys. */
export function normalizeTaggedAddresses(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeKeys(x, TAGGED_SHAPE)]));
}

export const CATALOG_REGISTER_SHAPE: Shape = {
  fields: [
    'ID',
    'Node',
    'Address',
    'Datacenter',
    'TaggedAddresses',
    'NodeMeta',
    'Service',
    'Check',
    'Checks',
    'SkipNodeUpdate',
    'Namespace',
    'Partition',
    'Locality',
  ],
  nested: { Service: SERVICE_SHAPE, Check: CHECK_SHAPE, Checks: CHECK_SHAPE },
};

export const CATALOG_DEREGISTER_SHAPE: Shape = {
  fields: ['Node', 'Datacenter', 'CheckID', 'ServiceID', 'Namespace', 'Partition'],
};

export const CHECK_UPDATE_SHAPE: Shape = { fields: ['Status', 'Output'] };
