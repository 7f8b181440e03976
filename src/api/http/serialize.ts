/** Consul's JSON shapes, built from catalog records (consul-compat.md, "Response JSON shapes"). */
import type { CheckRecord, Indexed, InstanceView, NodeRecord, ServiceRecord } from '../../catalog/index.js';
import { formatDuration } from '../../config/index.js';

export function nodeJson(n: Indexed<NodeRecord>) {
  const r = n.record;
  return {
    ID: r.ID, Node: r.Node, Address: r.Address, Datacenter: r.Datacenter,
    TaggedAddresses: r.TaggedAddresses, Meta: r.Meta,
    CreateIndex: n.createIndex, ModifyIndex: n.modifyIndex,
  };
}

/** AgentService, as /v1/agent/services and /v1/agent/service/:id answer. */
export function agentServiceJson(s: Indexed<ServiceRecord>, datacenter: string) {
  const r = s.record;
  return {
    ...(r.Kind ? { Kind: r.Kind } : {}),
    ID: r.ID, Service: r.Service, Tags: r.Tags, Meta: r.Meta, Port: r.Port, Address: r.Address,
    ...(Object.keys(r.TaggedAddresses).length ? { TaggedAddresses: r.TaggedAddresses } : {}),
    Weights: r.Weights, EnableTagOverride: r.EnableTagOverride, Datacenter: datacenter,
    CreateIndex: s.createIndex, ModifyIndex: s.modifyIndex,
  };
}

/** NodeService, the `Service` of a health entry and of /v1/catalog/node/:node. */
export function nodeServiceJson(s: Indexed<ServiceRecord>) {
  const r = s.record;
  return {
    ...(r.Kind ? { Kind: r.Kind } : {}),
    ID: r.ID, Service: r.Service, Tags: r.Tags, Address: r.Address,
    TaggedAddresses: r.TaggedAddresses, Meta: r.Meta, Port: r.Port, Weights: r.Weights,
    EnableTagOverride: r.EnableTagOverride,
    Proxy: { Mode: '', MeshGateway: {}, Expose: {} }, Connect: {},
    CreateIndex: s.createIndex, ModifyIndex: s.modifyIndex,
  };
}

/** ServiceNode, as /v1/catalog/service/:name answers. */
export function serviceNodeJson(i: InstanceView) {
  const n = i.node.record;
  const r = i.service.record;
  return {
    ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
    TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta,
    ServiceKind: r.Kind, ServiceID: r.ID, ServiceName: r.Service, ServiceTags: r.Tags,
    ServiceAddress: r.Address, ServiceTaggedAddresses: r.TaggedAddresses, ServiceWeights: r.Weights,
    ServiceMeta: r.Meta, ServicePort: r.Port, ServiceSocketPath: '',
    ServiceEnableTagOverride: r.EnableTagOverride,
    ServiceProxy: { Mode: '', MeshGateway: {}, Expose: {} }, ServiceConnect: {},
    CreateIndex: i.service.createIndex, ModifyIndex: i.service.modifyIndex,
  };
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
  return out;
}

/** HealthCheck, as /v1/health/* and /v1/agent/checks answer. */
export function checkJson(c: Indexed<CheckRecord>) {
  const r = c.record;
  const d = r.Definition;
  return {
    Node: r.Node, CheckID: r.CheckID, Name: r.Name, Status: r.Status, Notes: r.Notes, Output: r.Output,
    ServiceID: r.ServiceID, ServiceName: r.ServiceName, ServiceTags: r.ServiceTags, Type: r.Type,
    Interval: d.IntervalMs !== undefined ? formatDuration(d.IntervalMs) : '',
    Timeout: d.TimeoutMs !== undefined ? formatDuration(d.TimeoutMs) : '',
    ExposedPort: 0,
    Definition: definitionJson(r),
    CreateIndex: c.createIndex, ModifyIndex: c.modifyIndex,
  };
}

/** One /v1/health/service/:name entry. */
export function healthEntryJson(i: InstanceView) {
  return { Node: nodeJson(i.node), Service: nodeServiceJson(i.service), Checks: i.checks.map(checkJson) };
}
