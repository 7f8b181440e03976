/**
 * The shapes `?filter=` runs over on each route, as Consul's Go types: with them a selector that
 * names no field, an operator the field does not take, or a value of the wrong type answers 400,
 * as Consul does, instead of silently matching nothing.
 */
import type { FieldSpec, FieldType } from './filter/index.js';

const str = 'string' as const;
const idx = 'uint' as const;
const strMap: FieldType = { map: 'string' };
const strList: FieldType = { list: 'string' };
const weights: FieldType = { fields: { Passing: 'int', Warning: 'int' } };
const taggedService: FieldType = { map: { fields: { Address: 'string', Port: 'int' } } };

export const NODE_FIELDS: FieldSpec = {
  ID: str,
  Node: str,
  Address: str,
  Datacenter: str,
  TaggedAddresses: strMap,
  Meta: strMap,
  CreateIndex: idx,
  ModifyIndex: idx,
};

export const CHECK_FIELDS: FieldSpec = {
  Node: str,
  CheckID: str,
  Name: str,
  Status: str,
  Notes: str,
  Output: str,
  ServiceID: str,
  ServiceName: str,
  ServiceTags: strList,
  Type: str,
  Interval: str,
  Timeout: str,
  ExposedPort: 'int',
  Definition: 'any',
  CreateIndex: idx,
  ModifyIndex: idx,
};

const NODE_SERVICE_FIELDS: FieldSpec = {
  Kind: str,
  ID: str,
  Service: str,
  Tags: strList,
  Address: str,
  TaggedAddresses: taggedService,
  Meta: strMap,
  Port: 'int',
  Weights: weights,
  EnableTagOverride: 'bool',
  Proxy: 'any',
  Connect: 'any',
  CreateIndex: idx,
  ModifyIndex: idx,
};

export const HEALTH_ENTRY_FIELDS: FieldSpec = {
  Node: { fields: NODE_FIELDS },
  Service: { fields: NODE_SERVICE_FIELDS },
  Checks: { list: { fields: CHECK_FIELDS } },
};

export const SERVICE_NODE_FIELDS: FieldSpec = {
  ID: str,
  Node: str,
  Address: str,
  Datacenter: str,
  TaggedAddresses: strMap,
  NodeMeta: strMap,
  ServiceKind: str,
  ServiceID: str,
  ServiceName: str,
  ServiceTags: strList,
  ServiceAddress: str,
  ServiceTaggedAddresses: taggedService,
  ServiceWeights: weights,
  ServiceMeta: strMap,
  ServicePort: 'int',
  ServiceSocketPath: str,
  ServiceEnableTagOverride: 'bool',
  ServiceProxy: 'any',
  ServiceConnect: 'any',
  CreateIndex: idx,
  ModifyIndex: idx,
};

export const AGENT_SERVICE_FIELDS: FieldSpec = {
  Kind: str,
  ID: str,
  Service: str,
  Tags: strList,
  Meta: strMap,
  Port: 'int',
  Address: str,
  TaggedAddresses: taggedService,
  Weights: weights,
  EnableTagOverride: 'bool',
  Datacenter: str,
  CreateIndex: idx,
  ModifyIndex: idx,
};
