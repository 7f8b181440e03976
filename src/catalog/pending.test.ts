import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import type { Catalog } from './catalog.js';
import type { CheckRecord, NodeRecord, ServiceRecord } from './types.js';

const node: NodeRecord = { ID: '', Node: 'n1', Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
const svc = (id: string): ServiceRecord => ({
  ID: id,
  Service: 'web',
  Tags: [],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
});
const check = (id: string, serviceId: string, status: CheckRecord['Status']): CheckRecord => ({
  Node: 'n1',
  CheckID: id,
  Name: id,
  Status: status,
  Notes: '',
  Output: 'ok',
  ServiceID: serviceId,
  ServiceName: 'web',
  ServiceTags: [],
  Type: 'ttl',
  Definition: {},
});

let t: TestCatalog;
let catalog: Catalog;
beforeEach(async () => {
  ({ catalog } = t = await openTestCatalog('beacon-pending-'));
  await catalog.commands.registerNodeWith(
    node,
    [svc('web-1'), svc('web-2')],
    [check('c1', 'web-1', 'passing'), check('c2', 'web-2', 'passing'), check('serfHealth', '', 'passing')],
  );
});
afterEach(() => t.close());

describe('statuses decided but not yet written', () => {
  it('show in every read of the check, its instance and its node, but not in what the store has', () => {
    catalog.setPending('n1', 'c1', { status: 'critical', output: 'TTL expired' });
    expect(catalog.instances('web', { passingOnly: true }).value.map((i) => i.service.record.ID)).toEqual(['web-2']);
    expect(catalog.instance('n1', 'web-1')?.status).toBe('critical');
    expect(catalog.check('n1', 'c1')?.record).toMatchObject({ Status: 'critical', Output: 'TTL expired' });
    expect(catalog.nodeChecks('n1').value.find((c) => c.record.CheckID === 'c1')?.record.Status).toBe('critical');
    expect(catalog.serviceChecks('web').value.find((c) => c.record.CheckID === 'c1')?.record.Status).toBe('critical');
    expect(catalog.checksInState('critical').value.map((c) => c.record.CheckID)).toEqual(['c1']);
    expect(catalog.storedCheck('n1', 'c1')?.record.Status).toBe('passing');
    expect(catalog.stored.check('n1', 'c1')?.record.Status).toBe('passing');
    expect(catalog.stored.checksInState('any').value.every((c) => c.record.Status === 'passing')).toBe(true);
    expect(catalog.pendingCount).toBe(1);
    catalog.setPending('n1', 'c1', undefined);
    expect(catalog.instance('n1', 'web-1')?.status).toBe('passing');
    expect(catalog.pendingCount).toBe(0);
  });

  it('a node check shown critical takes every instance of the node out of passing results', () => {
    catalog.setPending('n1', 'serfHealth', { status: 'critical', output: 'store not writable' });
    expect(catalog.instances('web', { passingOnly: true }).value).toEqual([]);
  });

  it("wakes the blocking queries and change listeners of the check's service and node, and moves the version", async () => {
    const topics: string[] = [];
    catalog.onChange((t) => topics.push(...t));
    const v0 = catalog.pendingVersion;
    const woken = catalog.waitForChange(['svc:web'], 30_000);
    catalog.setPending('n1', 'c1', { status: 'critical', output: 'x' });
    expect(await woken).toBe('changed');
    expect(catalog.pendingVersion).toBeGreaterThan(v0);
    expect(topics).toEqual(expect.arrayContaining(['svc:web', 'node:n1', 'table:checks']));
    // The same status again changes nothing.
    const v1 = catalog.pendingVersion;
    catalog.setPending('n1', 'c1', { status: 'critical', output: 'x' });
    expect(catalog.pendingVersion).toBe(v1);
  });

  it('commands compare with what the store has: the shown status is still written', async () => {
    catalog.setPending('n1', 'c1', { status: 'critical', output: 'TTL expired' });
    const r = await catalog.commands.setCheckStatus('n1', 'c1', { status: 'critical', output: 'TTL expired' });
    expect(r.written).toBe(true);
    expect(catalog.storedCheck('n1', 'c1')?.record.Status).toBe('critical');
    // Written: what is shown and what is stored agree, whether or not the pending entry is cleared yet.
    expect(catalog.check('n1', 'c1')?.record.Status).toBe('critical');
  });
});
