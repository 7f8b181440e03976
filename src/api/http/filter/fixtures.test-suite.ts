import type { FieldSpec } from './field-spec.js';

/** A /v1/health/service entry as Beacon answers it (Consul's CheckServiceNode). */
export function healthEntry(over: { tags?: string[]; meta?: Record<string, string>; statuses?: string[]; port?: number } = {}): Record<string, unknown> {
  return {
    Node: {
      ID: '40e4a748-2192-161a-0510-9bf59fe950b5',
      Node: 'node-1',
      Address: '10.0.0.1',
      Datacenter: 'dc1',
      TaggedAddresses: { lan: '10.0.0.1', wan: '198.18.0.1' },
      Meta: { env: 'prod', 'rack.id': 'r1', 'team/owner': 'payments' },
    },
    Service: {
      ID: 'payments-1',
      Service: 'payments',
      Tags: over.tags ?? ['v2', 'primary'],
      Address: '',
      Meta: over.meta ?? { version: '2.1.0' },
      Port: over.port ?? 8080,
      Weights: { Passing: 10, Warning: 1 },
      EnableTagOverride: false,
      TaggedAddresses: { lan: { Address: '10.0.0.1', Port: 8080 } },
    },
    Checks: (over.statuses ?? ['passing', 'passing']).map((Status, i) => ({
      CheckID: i === 0 ? 'serfHealth' : `service:payments-1:${i}`,
      Name: i === 0 ? 'Serf Health Status' : 'HTTP check',
      Status,
      ServiceTags: i === 0 ? [] : ['v2'],
      Output: '',
    })),
  };
}

/** The shape of healthEntry, as a FieldSpec. */
export const HEALTH_SPEC: FieldSpec = {
  Node: {
    fields: {
      ID: 'string',
      Node: 'string',
      Address: 'string',
      Datacenter: 'string',
      TaggedAddresses: { map: 'string' },
      Meta: { map: 'string' },
    },
  },
  Service: {
    fields: {
      ID: 'string',
      Service: 'string',
      Tags: { list: 'string' },
      Address: 'string',
      Meta: { map: 'string' },
      Port: 'int',
      Weights: { fields: { Passing: 'int', Warning: 'int' } },
      EnableTagOverride: 'bool',
      TaggedAddresses: { map: { fields: { Address: 'string', Port: 'int' } } },
    },
  },
  Checks: {
    list: {
      fields: { CheckID: 'string', Name: 'string', Status: 'string', ServiceTags: { list: 'string' }, Output: 'string' },
    },
  },
};
