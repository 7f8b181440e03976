import { describe, expect, it } from 'vitest';
import type { CheckRecord, Indexed, NodeRecord, ServiceRecord } from '../catalog/index.js';
import { ALIVE_OUTPUT, DEAD_OUTPUT } from '../health/index.js';
import { LocalState, type LocalOp } from './local-state.js';
import { RepairPlanner, repairCounts, sameJson, type ActualNode, type DesiredNode, type Repair } from './repair-plan.js';

const NODE: NodeRecord = {
  ID: '0b7e6a56-3f0c-4d65-9d32-2a9e2a0f7c11',
  Node: 'srv',
  Address: '10.0.0.1',
  Datacenter: 'dc1',
  TaggedAddresses: { lan: '10.0.0.1', wan: '10.0.0.1' },
  Meta: { 'consul-network-segment': '' },
};
const svc = (id: string, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({
  ID: id,
  Service: id,
  Tags: [],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
  ...extra,
});
const check = (id: string, serviceId = '', extra: Partial<CheckRecord> = {}): CheckRecord => ({
  Node: 'srv',
  CheckID: id,
  Name: id,
  Status: 'critical',
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: serviceId,
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 10_000 },
  ...extra,
});
const SERF = check('serfHealth', '', { Name: 'Serf Health Status', Type: '', Definition: {} });
let rev = 1;
const ix = <T>(record: T): Indexed<T> => ({ record, createIndex: rev, modifyIndex: rev++ });

function desired(services: ServiceRecord[], checks: CheckRecord[]): DesiredNode {
  const st = new LocalState(NODE);
  st.apply([
    ...services.map((service): LocalOp => ({ op: 'service', source: 'api', service })),
    ...checks.map((check): LocalOp => ({ op: 'check', source: 'api', check })),
  ]);
  return st;
}
/** The catalog's view of the node; `node` null: the node record is gone. */
function actual(services: ServiceRecord[], checks: CheckRecord[], node: NodeRecord | null = NODE): ActualNode {
  const svcs = services.map(ix);
  const chks = checks.map(ix);
  return {
    node: node ? ix(node) : undefined,
    services: svcs,
    checks: chks,
    service: (id) => svcs.find((s) => s.record.ID === id),
    check: (id) => chks.find((c) => c.record.CheckID === id),
    checksOf: (sid) => chks.filter((c) => c.record.ServiceID === sid),
  };
}
const types = (plan: Repair[]) => plan.map((r) => r.type);

describe('anti-entropy planning', () => {
  const want = desired([svc('consul'), svc('web')], [SERF, check('service:web', 'web'), check('mem')]);

  it("plans nothing when the catalog is as registered, whatever the checks' status and key order", () => {
    const shuffled = { ...svc('web'), Weights: { Warning: 1, Passing: 1 } };
    const have = actual(
      [svc('consul'), shuffled],
      [
        { ...SERF, Output: ALIVE_OUTPUT, Status: 'passing' },
        check('service:web', 'web', { Status: 'passing', Output: 'ok' }),
        check('mem', '', { Status: 'warning' }),
      ],
    );
    expect(new RepairPlanner().plan(want, have, true)).toEqual([]);
  });

  it('a missing node is restored with everything in one write: checks critical, serfHealth passing while the session is up', () => {
    const [r] = new RepairPlanner().plan(want, actual([], [], null), true);
    expect(r).toMatchObject({ type: 'restore-node', node: NODE });
    if (r.type !== 'restore-node') throw new Error('unexpected');
    expect(r.services.map((s) => s.ID)).toEqual(['consul', 'web']);
    expect(r.checks.map((c) => [c.CheckID, c.Status, c.Output])).toEqual([
      ['serfHealth', 'passing', ALIVE_OUTPUT],
      ['service:web', 'critical', ''],
      ['mem', 'critical', ''],
    ]);
    expect(repairCounts(r)).toEqual({ node: 1, service: 2, check: 3 });
    const down = new RepairPlanner().plan(want, actual([], [], null), false)[0];
    if (down.type !== 'restore-node') throw new Error('unexpected');
    expect(down.checks[0]).toMatchObject({ CheckID: 'serfHealth', Status: 'critical', Output: DEAD_OUTPUT });
  });

  it('a node record that differs is written back, naming the fields', () => {
    const plan = new RepairPlanner().plan(
      want,
      actual([svc('consul'), svc('web')], [SERF, check('service:web', 'web'), check('mem')], { ...NODE, Address: '10.9.9.9', Meta: {} }),
      true,
    );
    expect(plan).toEqual([
      { type: 'update-node', node: NODE, fields: ['Address', 'Meta'] },
      { type: 'set-status', checkId: 'serfHealth', status: 'passing', output: ALIVE_OUTPUT, kind: 'serf_health' },
    ]);
  });

  it('a missing or altered service is registered again with all its checks, which start critical', () => {
    const missing = new RepairPlanner().plan(want, actual([svc('consul')], [{ ...SERF, Status: 'passing', Output: ALIVE_OUTPUT }, check('mem')]), true);
    expect(missing).toEqual([
      {
        type: 'register-service',
        service: svc('web'),
        checks: [check('service:web', 'web')],
        serviceState: 'missing',
        restoredChecks: ['service:web'],
        removedChecks: [],
      },
    ]);
    const altered = new RepairPlanner().plan(
      want,
      actual(
        [svc('consul'), svc('web', { Port: 81 })],
        [{ ...SERF, Status: 'passing', Output: ALIVE_OUTPUT }, check('service:web', 'web', { Status: 'passing' }), check('mem')],
      ),
      true,
    );
    expect(altered).toMatchObject([{ type: 'register-service', serviceState: 'changed', restoredChecks: [], removedChecks: [] }]);
    expect(repairCounts(altered[0])).toEqual({ service: 1, check: 0, removed_check: 0 });
  });

  it('a service whose check is missing, altered or foreign is registered again; the check is what it counts', () => {
    const up = { ...SERF, Status: 'passing' as const, Output: ALIVE_OUTPUT };
    const p = new RepairPlanner();
    const gone = p.plan(want, actual([svc('consul'), svc('web')], [up, check('mem')]), true);
    expect(gone).toMatchObject([{ type: 'register-service', serviceState: 'ok', restoredChecks: ['service:web'] }]);
    expect(repairCounts(gone[0])).toEqual({ service: 0, check: 1, removed_check: 0 });
    const changed = p.plan(want, actual([svc('consul'), svc('web')], [up, check('mem'), check('service:web', 'web', { Definition: { TTLMs: 1 } })]), true);
    expect(changed).toMatchObject([{ type: 'register-service', restoredChecks: ['service:web'] }]);
    const foreign = p.plan(want, actual([svc('consul'), svc('web')], [up, check('mem'), check('service:web', 'web'), check('x', 'web')]), true);
    expect(foreign).toMatchObject([{ type: 'register-service', serviceState: 'ok', restoredChecks: [], removedChecks: ['x'] }]);
  });

  it('node checks are registered again when missing or altered (keeping the status the catalog has)', () => {
    const plan = new RepairPlanner().plan(
      want,
      actual([svc('consul'), svc('web')], [{ ...SERF, Name: 'renamed', Status: 'passing', Output: ALIVE_OUTPUT }, check('service:web', 'web')]),
      true,
    );
    expect(plan).toEqual([
      { type: 'register-check', check: SERF, why: 'changed' },
      { type: 'register-check', check: check('mem'), why: 'missing' },
    ]);
  });

  it('services and checks the local state does not have are removed; checks of removed services go with them', () => {
    const plan = new RepairPlanner().plan(
      want,
      actual(
        [svc('consul'), svc('web'), svc('intruder')],
        [
          { ...SERF, Status: 'passing', Output: ALIVE_OUTPUT },
          check('service:web', 'web'),
          check('mem'),
          check('stray'),
          check('service:intruder', 'intruder'),
          check('orphan', 'nowhere'),
        ],
      ),
      true,
    );
    expect(plan).toEqual([
      { type: 'remove-service', id: 'intruder' },
      { type: 'remove-check', id: 'stray' },
      { type: 'remove-check', id: 'orphan' },
    ]);
  });

  it('serfHealth goes back to passing only while the session is up; maintenance checks back to critical', () => {
    const maint = check('_node_maintenance', '', { Type: 'maintenance', Definition: {} });
    const w = desired([svc('consul')], [SERF, maint]);
    const have = actual(
      [svc('consul')],
      [
        { ...SERF, Status: 'critical', Output: 'forged' },
        { ...maint, Status: 'passing' },
      ],
    );
    expect(new RepairPlanner().plan(w, have, true)).toEqual([
      { type: 'set-status', checkId: 'serfHealth', status: 'passing', output: ALIVE_OUTPUT, kind: 'serf_health' },
      { type: 'set-status', checkId: '_node_maintenance', status: 'critical', output: '', kind: 'maintenance' },
    ]);
    expect(types(new RepairPlanner().plan(w, have, false))).toEqual(['set-status']);
  });

  it('compares JSON values ignoring key order', () => {
    expect(sameJson({ a: [1, { b: 2, c: 3 }] }, { a: [1, { c: 3, b: 2 }] })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson({}, [])).toBe(false);
  });
});
