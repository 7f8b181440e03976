/**
 * JSON schemas of request bodies, applied after key normalization (normalize.ts). Types and
 * bounds live here; Consul's semantic rules (and their exact messages) live in registration.ts.
 */
const str = (max = 512) => ({ type: 'string', maxLength: max }) as const;
const nullable = (s: Record<string, unknown>) => ({ anyOf: [s, { type: 'null' }] });
const duration = {
  anyOf: [
    { type: 'string', maxLength: 64 },
    { type: 'integer', minimum: 0 },
  ],
} as const;
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const count = { type: 'integer', minimum: 0, maximum: 1000 } as const;
const stringMap = (maxProps: number, maxValue: number) =>
  nullable({ type: 'object', maxProperties: maxProps, additionalProperties: { type: 'string', maxLength: maxValue } });

export const checkSchema = {
  type: 'object',
  properties: {
    CheckID: str(256),
    ID: str(256),
    Name: str(256),
    Notes: str(4096),
    Status: str(32),
    ServiceID: str(256),
    Node: str(256),
    Args: nullable({ type: 'array', maxItems: 64, items: str(4096) }),
    Script: str(4096),
    HTTP: str(2048),
    Method: str(16),
    Header: nullable({ type: 'object', maxProperties: 64, additionalProperties: { type: 'array', maxItems: 16, items: str(4096) } }),
    Body: str(65536),
    TLSServerName: str(256),
    TLSSkipVerify: { type: 'boolean' },
    TCP: str(512),
    GRPC: str(512),
    GRPCUseTLS: { type: 'boolean' },
    Interval: duration,
    Timeout: duration,
    TTL: duration,
    DeregisterCriticalServiceAfter: duration,
    OutputMaxSize: { type: 'integer', minimum: 0, maximum: 1 << 20 },
    SuccessBeforePassing: count,
    FailuresBeforeWarning: count,
    FailuresBeforeCritical: count,
    Output: str(65536),
    Definition: nullable({ type: 'object' }),
  },
} as const;

export const serviceSchema = {
  type: 'object',
  properties: {
    ID: str(256),
    Name: str(256),
    Service: str(256),
    Tags: nullable({ type: 'array', maxItems: 256, items: str(256) }),
    Address: str(256),
    TaggedAddresses: nullable({
      type: 'object',
      maxProperties: 16,
      additionalProperties: { type: 'object', properties: { Address: str(256), Port: port } },
    }),
    Meta: stringMap(64, 512),
    Port: port,
    Kind: str(64),
    EnableTagOverride: { type: 'boolean' },
    Weights: nullable({
      type: 'object',
      properties: { Passing: { type: 'integer', minimum: 0, maximum: 65535 }, Warning: { type: 'integer', minimum: 0, maximum: 65535 } },
    }),
    Check: nullable(checkSchema),
    Checks: nullable({ type: 'array', maxItems: 32, items: checkSchema }),
  },
} as const;

export const catalogRegisterSchema = {
  type: 'object',
  properties: {
    ID: str(64),
    Node: str(256),
    Address: str(256),
    Datacenter: str(64),
    TaggedAddresses: stringMap(16, 256),
    NodeMeta: stringMap(64, 512),
    Service: nullable(serviceSchema),
    Check: nullable(checkSchema),
    Checks: nullable({ type: 'array', maxItems: 64, items: checkSchema }),
    SkipNodeUpdate: { type: 'boolean' },
  },
} as const;

export const catalogDeregisterSchema = {
  type: 'object',
  properties: { Node: str(256), Datacenter: str(64), CheckID: str(256), ServiceID: str(256) },
} as const;
