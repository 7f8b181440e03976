/**
 * Consul's JSON shapes, built from catalog records (the field names and nesting Consul's clients read).
 *
 * Records in the catalog view are replaced on change, never mutated, so each shape of a record
 * is built and encoded once, the first time it is read, and kept in a WeakMap keyed by the
 * record (it goes when the record does). The objects returned here are those shared, frozen
 * ones: `?filter=` runs over them, and {@link encodeJson} writes their pre-encoded JSON instead
 * of encoding them again, so an answer is a join of fragments. The output is byte for byte
 * what `JSON.stringify` gives for the same objects.
 */
import type { CheckRecord, Indexed, InstanceView, NodeRecord, ServiceRecord } from '../../catalog/index.js';
import { formatDuration } from '../../config/index.js';

/** JSON text and its length in UTF-8 bytes. */
export interface Encoded {
  text: string;
  bytes: number;
}

/** The JSON of every object this module built (frozen, so it cannot drift from it). */
const encoded = new WeakMap<object, Encoded>();

/** Freezes `obj`, remembers its JSON, and returns it. */
function sealed<T extends object>(obj: T, text: string = JSON.stringify(obj)): T {
  encoded.set(obj, { text, bytes: Buffer.byteLength(text) });
  return Object.freeze(obj);
}

/** The JSON text of an object built here. */
function textOf(obj: object): string {
  return encoded.get(obj)!.text;
}

/** A per-record memo of one JSON shape. */
function memo<K extends object, V extends object>(build: (k: K) => V): (k: K) => V {
  const cache = new WeakMap<K, V>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) cache.set(k, (v = build(k)));
    return v;
  };
}

/**
 * JSON of a response body, as `JSON.stringify(value)` gives it, with every object built by this
 * module written from its pre-encoded text, and the answer's length in bytes summed from its
 * parts (so it need not be measured again). Arrays and plain objects are walked to find those;
 * everything else (strings, numbers, arrays of scalars, objects with `toJSON`) goes to
 * `JSON.stringify` as a whole. `text` is 'null' where `JSON.stringify` gives undefined.
 */
export function encodeAnswer(value: unknown): Encoded {
  counted = 0;
  const text = enc(value);
  return text === undefined ? { text: 'null', bytes: 4 } : { text, bytes: counted };
}

/** JSON text of a response body: {@link encodeAnswer}'s text, undefined where `JSON.stringify` gives it. */
export function encodeJson(value: unknown): string | undefined {
  counted = 0;
  return enc(value);
}

/** Bytes of the text `enc` has produced so far (it runs synchronously, never nested). */
let counted = 0;

function stringified(value: unknown): string | undefined {
  const s = JSON.stringify(value);
  if (s !== undefined) counted += Buffer.byteLength(s);
  return s;
}

function enc(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return stringified(value);
  const pre = encoded.get(value);
  if (pre !== undefined) {
    counted += pre.bytes;
    return pre.text;
  }
  if (Array.isArray(value)) {
    // An array of scalars (tags, names) holds nothing pre-encoded: native is faster.
    const first: unknown = value[0];
    if (value.length === 0 || typeof first !== 'object' || first === null) return stringified(value);
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const s = enc(value[i]) ?? ((counted += 4), 'null');
      out += i === 0 ? s : `,${s}`;
    }
    counted += value.length + 1; // brackets and commas
    return `${out}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return stringified(value);
  let out = '{';
  let members = 0;
  for (const k of Object.keys(value)) {
    const s = enc((value as Record<string, unknown>)[k]);
    if (s === undefined) continue;
    const key = JSON.stringify(k);
    counted += Buffer.byteLength(key) + 1; // the key and its colon
    out += `${members === 0 ? '' : ','}${key}:${s}`;
    members++;
  }
  counted += members === 0 ? 2 : members + 1; // braces and commas
  return `${out}}`;
}

// ---- shapes ----------------------------------------------------------------------------------

const nodeShape = memo((n: Indexed<NodeRecord>) => {
  const r = n.record;
  return sealed({
    ID: r.ID,
    Node: r.Node,
    Address: r.Address,
    Datacenter: r.Datacenter,
    TaggedAddresses: r.TaggedAddresses,
    Meta: r.Meta,
    CreateIndex: n.createIndex,
    ModifyIndex: n.modifyIndex,
  });
});

export function nodeJson(n: Indexed<NodeRecord>) {
  return nodeShape(n);
}

function buildAgentService(s: Indexed<ServiceRecord>, datacenter: string) {
  const r = s.record;
  return sealed({
    ...(r.Kind ? { Kind: r.Kind } : {}),
    ID: r.ID,
    Service: r.Service,
    Tags: r.Tags,
    Meta: r.Meta,
    Port: r.Port,
    Address: r.Address,
    ...(Object.keys(r.TaggedAddresses).length ? { TaggedAddresses: r.TaggedAddresses } : {}),
    Weights: r.Weights,
    EnableTagOverride: r.EnableTagOverride,
    Datacenter: datacenter,
    CreateIndex: s.createIndex,
    ModifyIndex: s.modifyIndex,
  });
}
type AgentServiceJson = ReturnType<typeof buildAgentService>;
const agentServices = new WeakMap<Indexed<ServiceRecord>, AgentServiceJson>();

/** AgentService, as /v1/agent/services and /v1/agent/service/:id answer. */
export function agentServiceJson(s: Indexed<ServiceRecord>, datacenter: string): AgentServiceJson {
  let v = agentServices.get(s);
  if (v === undefined || v.Datacenter !== datacenter) agentServices.set(s, (v = buildAgentService(s, datacenter)));
  return v;
}

// Fixed parts of Consul's shapes that Beacon has no data for; shared and frozen.
const PROXY = sealed({ Mode: '', MeshGateway: sealed({}), Expose: sealed({}) });
const CONNECT = sealed({});

const nodeServiceShape = memo((s: Indexed<ServiceRecord>) => {
  const r = s.record;
  return sealed({
    ...(r.Kind ? { Kind: r.Kind } : {}),
    ID: r.ID,
    Service: r.Service,
    Tags: r.Tags,
    Address: r.Address,
    TaggedAddresses: r.TaggedAddresses,
    Meta: r.Meta,
    Port: r.Port,
    Weights: r.Weights,
    EnableTagOverride: r.EnableTagOverride,
    Proxy: PROXY,
    Connect: CONNECT,
    CreateIndex: s.createIndex,
    ModifyIndex: s.modifyIndex,
  });
});

/** NodeService, the `Service` of a health entry and of /v1/catalog/node/:node. */
export function nodeServiceJson(s: Indexed<ServiceRecord>) {
  return nodeServiceShape(s);
}

function buildServiceNode(i: InstanceView) {
  const n = i.node.record;
  const r = i.service.record;
  return sealed({
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: n.TaggedAddresses,
    NodeMeta: n.Meta,
    ServiceKind: r.Kind,
    ServiceID: r.ID,
    ServiceName: r.Service,
    ServiceTags: r.Tags,
    ServiceAddress: r.Address,
    ServiceTaggedAddresses: r.TaggedAddresses,
    ServiceWeights: r.Weights,
    ServiceMeta: r.Meta,
    ServicePort: r.Port,
    ServiceSocketPath: '',
    ServiceEnableTagOverride: r.EnableTagOverride,
    ServiceProxy: PROXY,
    ServiceConnect: CONNECT,
    CreateIndex: i.service.createIndex,
    ModifyIndex: i.service.modifyIndex,
  });
}
type ServiceNodeJson = ReturnType<typeof buildServiceNode>;
/** Keyed by the service record; valid while the instance's node record is the same one. */
const serviceNodes = new WeakMap<Indexed<ServiceRecord>, { node: Indexed<NodeRecord>; json: ServiceNodeJson }>();

/** ServiceNode, as /v1/catalog/service/:name answers. */
export function serviceNodeJson(i: InstanceView): ServiceNodeJson {
  const hit = serviceNodes.get(i.service);
  if (hit !== undefined && hit.node === i.node) return hit.json;
  const json = buildServiceNode(i);
  serviceNodes.set(i.service, { node: i.node, json });
  return json;
}

function definitionJson(c: CheckRecord) {
  const d = c.Definition;
  const out: Record<string, unknown> = {};
  if (d.HTTP) {
    out.HTTP = d.HTTP;
    out.Method = d.Method ?? '';
    out.Header = d.Header ?? {};
    out.Body = d.Body ?? '';
    out.TLSSkipVerify = d.TLSSkipVerify ?? false;
  }
  if (d.TCP) out.TCP = d.TCP;
  if (d.GRPC) {
    out.GRPC = d.GRPC;
    out.GRPCUseTLS = d.GRPCUseTLS ?? false;
    if (d.TLSSkipVerify) out.TLSSkipVerify = true;
  }
  // Consul's HealthCheckDefinition omits an empty TLSServerName.
  if (d.TLSServerName) out.TLSServerName = d.TLSServerName;
  if (d.Args) out.ScriptArgs = d.Args;
  if (d.IntervalMs !== undefined) out.Interval = formatDuration(d.IntervalMs);
  if (d.TimeoutMs !== undefined) out.Timeout = formatDuration(d.TimeoutMs);
  if (d.TTLMs !== undefined) out.TTL = formatDuration(d.TTLMs);
  if (d.DeregisterCriticalServiceAfterMs !== undefined) out.DeregisterCriticalServiceAfter = formatDuration(d.DeregisterCriticalServiceAfterMs);
  return Object.freeze(out);
}

const checkShape = memo((c: Indexed<CheckRecord>) => {
  const r = c.record;
  const d = r.Definition;
  return sealed({
    Node: r.Node,
    CheckID: r.CheckID,
    Name: r.Name,
    Status: r.Status,
    Notes: r.Notes,
    Output: r.Output,
    ServiceID: r.ServiceID,
    ServiceName: r.ServiceName,
    ServiceTags: r.ServiceTags,
    Type: r.Type,
    Interval: d.IntervalMs !== undefined ? formatDuration(d.IntervalMs) : '',
    Timeout: d.TimeoutMs !== undefined ? formatDuration(d.TimeoutMs) : '',
    ExposedPort: 0,
    Definition: definitionJson(r),
    CreateIndex: c.createIndex,
    ModifyIndex: c.modifyIndex,
  });
});

/** HealthCheck, as /v1/health/* and /v1/agent/checks answer. */
export function checkJson(c: Indexed<CheckRecord>) {
  return checkShape(c);
}

function buildHealthEntry(i: InstanceView) {
  const node = nodeJson(i.node);
  const service = nodeServiceJson(i.service);
  const checks = i.checks.map(checkJson);
  let text = `{"Node":${textOf(node)},"Service":${textOf(service)},"Checks":[`;
  for (let k = 0; k < checks.length; k++) text += k === 0 ? textOf(checks[k]) : `,${textOf(checks[k])}`;
  return sealed({ Node: node, Service: service, Checks: Object.freeze(checks) }, `${text}]}`);
}
type HealthEntryJson = ReturnType<typeof buildHealthEntry>;
/** Keyed by the service record; valid while the node record and every check record are the same ones. */
const healthEntries = new WeakMap<Indexed<ServiceRecord>, { node: Indexed<NodeRecord>; checks: readonly Indexed<CheckRecord>[]; json: HealthEntryJson }>();

function sameChecks(a: readonly Indexed<CheckRecord>[], b: readonly Indexed<CheckRecord>[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** One /v1/health/service/:name entry. */
export function healthEntryJson(i: InstanceView): HealthEntryJson {
  const hit = healthEntries.get(i.service);
  if (hit !== undefined && hit.node === i.node && sameChecks(hit.checks, i.checks)) return hit.json;
  const json = buildHealthEntry(i);
  // A copy: the catalog may hand out its own list of the instance's checks.
  healthEntries.set(i.service, { node: i.node, checks: i.checks.slice(), json });
  return json;
}
