import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import type { Store } from '../store/index.js';
import { Catalog } from './catalog.js';
import type { CheckRecord, NodeRecord, ServiceRecord } from './types.js';

const node = (name: string, meta: Record<string, string> = {}): NodeRecord => ({
  ID: `id-${name}`,
  Node: name,
  Address: `10.0.0.${name.length}`,
  Datacenter: 'dc1',
  TaggedAddresses: {},
  Meta: meta,
});
const svc = (id: string, name: string, tags: string[] = []): ServiceRecord => ({
  ID: id,
  Service: name,
  Tags: tags,
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
});
const check = (n: string, id: string, status: CheckRecord['Status'], serviceId = '', serviceName = ''): CheckRecord => ({
  Node: n,
  CheckID: id,
  Name: id,
  Status: status,
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: serviceName,
  ServiceTags: [],
  Type: 'ttl',
  Definition: {},
});

let fixture: TestCatalog;
let store: Store;
let catalog: Catalog;
let cmd: Catalog['commands'];

beforeEach(async () => {
  ({ store, catalog } = fixture = await openTestCatalog('beacon-catalog-'));
  cmd = catalog.commands;
});
afterEach(async () => {
  await fixture.close();
});

describe('Catalog', () => {
  it('indexes instances by service name, tag and node meta, and aggregates health', async () => {
    await cmd.registerNodeWith(node('a', { rack: '1' }), [svc('web-1', 'web', ['v1'])], []);
    await cmd.registerNodeWith(node('bb', { rack: '2' }), [svc('web-2', 'web', ['v2', 'canary'])], [check('bb', 'c1', 'warning', 'web-2', 'web')]);
    expect(
      catalog
        .instances('web')
        .value.map((i) => i.service.record.ID)
        .sort(),
    ).toEqual(['web-1', 'web-2']);
    expect(catalog.instances('web', { tags: ['v2', 'canary'] }).value.map((i) => i.service.record.ID)).toEqual(['web-2']);
    expect(catalog.instances('web', { tags: ['v2', 'v1'] }).value).toEqual([]);
    expect(catalog.instances('web', { nodeMeta: { rack: '1' } }).value.map((i) => i.node.record.Node)).toEqual(['a']);
    // A service with no checks counts as passing.
    expect(catalog.instances('web', { passingOnly: true }).value.map((i) => i.service.record.ID)).toEqual(['web-1']);
    expect(catalog.instances('web', { healthFilter: 'not-critical' }).value).toHaveLength(2);
    expect(catalog.instances('web', { healthFilter: 'passing' }).value).toHaveLength(1);
    expect(catalog.services().value.get('web')?.sort()).toEqual(['canary', 'v1', 'v2']);
  });

  it('node checks apply to every service of the node; maintenance outranks critical', async () => {
    await cmd.registerNodeWith(node('a'), [svc('x', 'x'), svc('y', 'y')], []);
    await cmd.registerCheck(check('a', 'serfHealth', 'critical'));
    expect(catalog.instance('a', 'x')!.status).toBe('critical');
    expect(catalog.instance('a', 'y')!.status).toBe('critical');
    await cmd.setMaintenance('a', true, 'testing');
    expect(catalog.instance('a', 'y')!.status).toBe('maintenance');
  });

  it('bumps the per-service modify index only for changes touching the service, deletes included', async () => {
    await cmd.registerNodeWith(node('a'), [svc('w', 'web'), svc('d', 'db')], []);
    const web0 = catalog.instances('web').index;
    const db0 = catalog.instances('db').index;
    await cmd.registerService('a', { ...svc('d', 'db'), Port: 81 }, []);
    expect(catalog.instances('web').index).toBe(web0);
    expect(catalog.instances('db').index).toBeGreaterThan(db0);
    const db1 = catalog.instances('db').index;
    await cmd.deregisterService('a', 'd');
    expect(catalog.instances('db').value).toEqual([]);
    expect(catalog.instances('db').index).toBeGreaterThan(db1);
    // Node-level check changes touch every service on the node.
    await cmd.registerCheck(check('a', 'serfHealth', 'passing'));
    expect(catalog.instances('web').index).toBeGreaterThan(web0);
  });

  it('never answers index 0', () => {
    expect(catalog.instances('nothing').index).toBeGreaterThanOrEqual(1);
    expect(catalog.tableIndex('nodes')).toBeGreaterThanOrEqual(1);
  });

  it('wakes blocking waiters on their topic only', async () => {
    await cmd.registerNodeWith(node('a'), [], []);
    const web = catalog.waitForChange(['svc:web'], 2000);
    const db = catalog.waitForChange(['svc:db'], 150);
    await cmd.registerService('a', svc('w', 'web'), []);
    expect(await web).toBe('changed');
    expect(await db).toBe('timeout');
    expect(catalog.blockingQueriesWaiting).toBe(0);
  });

  it('moving a service to another name updates both names', async () => {
    await cmd.registerNodeWith(node('a'), [svc('s1', 'old')], []);
    await cmd.registerService('a', svc('s1', 'new'), []);
    expect(catalog.hasService('old')).toBe(false);
    expect(catalog.instances('new').value).toHaveLength(1);
    expect(catalog.sizes.instances).toBe(1);
  });

  it('removes a node with its services and checks in one revision', async () => {
    await cmd.registerNodeWith(node('a'), [svc('s', 's')], [check('a', 'c', 'passing', 's', 's')]);
    const rev = catalog.revision;
    await cmd.deregisterNode('a');
    expect(catalog.revision).toBe(rev + 1);
    expect(catalog.node('a').value).toBeUndefined();
    expect(catalog.sizes).toEqual({ nodes: 0, services: 0, instances: 0, checks: 0 });
  });

  it('a second catalog on the same store rebuilds the same view from a listing', async () => {
    await cmd.registerNodeWith(node('a'), [svc('s', 's', ['t'])], [check('a', 'c', 'warning', 's', 's')]);
    const other = new Catalog(store, { datacenter: 'dc1' });
    await other.start();
    try {
      expect(other.instance('a', 's')?.status).toBe('warning');
      expect(other.services().value.get('s')).toEqual(['t']);
      const { written } = await cmd.setCheckStatus('a', 'c', { status: 'passing', output: '' });
      expect(written).toBe(true);
      await other.waitForRevision(catalog.revision);
      expect(other.instance('a', 's')?.status).toBe('passing');
    } finally {
      other.stop();
    }
  });

  it('finds nodes and instances by address for PTR lookups', async () => {
    await cmd.registerNodeWith(node('a'), [{ ...svc('s', 's'), Address: '192.0.2.7' }], []);
    expect(catalog.byAddress('10.0.0.1').nodes.map((n) => n.record.Node)).toEqual(['a']);
    expect(catalog.byAddress('192.0.2.7').instances.map((i) => i.service.record.ID)).toEqual(['s']);
  });
});
