import { describe, expect, it } from 'vitest';
import type { CheckRecord, RecordChange, ServiceRecord } from '../catalog/index.js';
import { deriveEvents } from './derive.js';

const svc = (over: Partial<ServiceRecord> = {}): ServiceRecord => ({
  ID: 'web1',
  Service: 'web',
  Tags: [],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
  ...over,
});
const chk = (over: Partial<CheckRecord> = {}): CheckRecord => ({
  Node: 'n1',
  CheckID: 'service:web1',
  Name: 'c',
  Status: 'passing',
  Notes: '',
  Output: '',
  ServiceID: 'web1',
  ServiceName: 'web',
  ServiceTags: [],
  Type: 'ttl',
  Definition: {},
  ...over,
});
const kinds = (changes: RecordChange[]) => deriveEvents(changes, 7, 1, 'dc1').map((e) => e.kind);

describe('deriveEvents', () => {
  it('tells service registrations, updates and deregistrations, and ignores a rewrite of the same record', () => {
    expect(kinds([{ kind: 'service', node: 'n1', id: 'web1', before: undefined, after: svc() }])).toEqual(['service-registered']);
    expect(kinds([{ kind: 'service', node: 'n1', id: 'web1', before: svc(), after: svc({ Port: 81 }) }])).toEqual(['service-updated']);
    expect(kinds([{ kind: 'service', node: 'n1', id: 'web1', before: svc(), after: svc() }])).toEqual([]);
    expect(kinds([{ kind: 'service', node: 'n1', id: 'web1', before: svc(), after: undefined }])).toEqual(['service-deregistered']);
  });

  it('tells check transitions with from, to and output; liveness for serfHealth; maintenance on and off', () => {
    const [e] = deriveEvents(
      [{ kind: 'check', node: 'n1', id: 'service:web1', before: chk(), after: chk({ Status: 'critical', Output: 'boom' }) }],
      7,
      1,
      'dc1',
    );
    expect(e).toMatchObject({
      kind: 'check-status',
      revision: 7,
      node: 'n1',
      service: 'web',
      instance: 'web1',
      check: 'service:web1',
      from: 'passing',
      to: 'critical',
      output: 'boom',
    });
    const serf = chk({ CheckID: 'serfHealth', ServiceID: '', ServiceName: '' });
    const [l] = deriveEvents([{ kind: 'check', node: 'n1', id: 'serfHealth', before: serf, after: { ...serf, Status: 'critical' } }], 8, 1, 'dc1');
    expect(l).toMatchObject({ kind: 'node-liveness', from: 'passing', to: 'critical', check: 'serfHealth' });
    expect(l.service).toBeUndefined();
    const m = chk({ CheckID: '_node_maintenance', ServiceID: '', ServiceName: '', Notes: 'kernel' });
    expect(deriveEvents([{ kind: 'check', node: 'n1', id: '_node_maintenance', before: undefined, after: m }], 9, 1, 'dc1')[0]).toMatchObject({
      kind: 'maintenance-on',
      reason: 'kernel',
    });
    expect(kinds([{ kind: 'check', node: 'n1', id: '_node_maintenance', before: m, after: undefined }])).toEqual(['maintenance-off']);
    expect(kinds([{ kind: 'check', node: 'n1', id: 'service:web1', before: chk(), after: chk({ Output: 'new output' }) }])).toEqual([]);
  });

  it('tells nodes registered and deregistered', () => {
    const n = { ID: '', Node: 'n1', Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
    expect(kinds([{ kind: 'node', node: 'n1', id: 'n1', before: undefined, after: n }])).toEqual(['node-registered']);
    expect(kinds([{ kind: 'node', node: 'n1', id: 'n1', before: n, after: undefined }])).toEqual(['node-deregistered']);
  });
});
