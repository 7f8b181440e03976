/**
 * Commands through a catalog whose view is behind the store — as on a server whose watch has
 * not yet delivered a change made through another server. A command that finds nothing to
 * write, or something missing, in such a view must not answer from it: it catches up first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import type { Store, WatchBatch } from '../store/index.js';
import { Catalog } from './catalog.js';
import { checkKey, serviceKey } from './keys.js';
import type { CheckRecord, NodeRecord, ServiceRecord } from './types.js';

const NODE = 'shared';
const nodeRec: NodeRecord = { ID: '', Node: NODE, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
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
const ttlCheck = (serviceId: string): CheckRecord => ({
  Node: NODE,
  CheckID: `service:${serviceId}`,
  Name: 'ttl',
  Status: 'critical',
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: 'web',
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 10_000 },
});

/**
 * The store as a lagging server sees it: watch batches are held back until something asks the
 * store for its current revision (what catching up does), then delivered in order.
 */
function lagging(inner: Store): Store {
  const held: (() => void)[] = [];
  let holding = true;
  const release = (): void => {
    holding = false;
    for (const deliver of held.splice(0)) deliver();
  };
  return {
    driver: inner.driver,
    get: (k) => inner.get(k),
    range: (p) => inner.range(p),
    put: (k, v, o) => inner.put(k, v, o),
    delete: (k) => inner.delete(k),
    deletePrefix: (p) => inner.deletePrefix(p),
    txn: (c, s, f) => inner.txn(c, s, f),
    currentRevision: async () => {
      const rev = await inner.currentRevision();
      release();
      return rev;
    },
    grant: (t) => inner.grant(t),
    keepAlive: (l) => inner.keepAlive(l),
    revoke: (l) => inner.revoke(l),
    watch: (opts) =>
      inner.watch({
        ...opts,
        onBatch: (b: WatchBatch) => (holding ? held.push(() => opts.onBatch(b)) : opts.onBatch(b)),
      }),
    compact: (r) => inner.compact(r),
    stats: () => inner.stats(),
    close: () => inner.close(),
  };
}

describe('commands through a view that is behind the store', () => {
  let fixture: TestCatalog;
  let behind: Catalog;

  beforeEach(async () => {
    fixture = await openTestCatalog('beacon-stale-view-');
    await fixture.catalog.commands.registerNodeWith(nodeRec, [], []);
    behind = new Catalog(lagging(fixture.store), { datacenter: 'dc1' });
    await behind.start();
  });
  afterEach(async () => {
    behind.stop();
    await fixture.close();
  });

  it('deregistering a service registered elsewhere deletes it (not a no-op acknowledged on the stale view)', async () => {
    await fixture.catalog.commands.registerService(NODE, svc('web-1'), [ttlCheck('web-1')]);
    expect(behind.serviceRecord(NODE, 'web-1')).toBeUndefined();
    expect(await behind.commands.deregisterService(NODE, 'web-1')).toBe(true);
    expect(await fixture.store.get(serviceKey(NODE, 'web-1'))).toBeUndefined();
    expect(await fixture.store.get(checkKey(NODE, 'service:web-1'))).toBeUndefined();
  });

  it('setting the status of a check registered elsewhere writes it', async () => {
    await fixture.catalog.commands.registerService(NODE, svc('web-2'), [ttlCheck('web-2')]);
    expect(await behind.commands.setCheckStatus(NODE, 'service:web-2', { status: 'passing', output: 'ok' })).toEqual({ written: true });
    const kv = await fixture.store.get(checkKey(NODE, 'service:web-2'));
    expect((JSON.parse(kv!.value) as CheckRecord).Status).toBe('passing');
  });

  it('registering a check under a service registered elsewhere finds the service', async () => {
    await fixture.catalog.commands.registerService(NODE, svc('web-3'), []);
    await behind.commands.registerCheck({ ...ttlCheck('web-3'), CheckID: 'extra' });
    expect(await fixture.store.get(checkKey(NODE, 'extra'))).toBeDefined();
  });

  it('a service that is really missing is still not found, after catching up', async () => {
    await expect(behind.commands.registerCheck({ ...ttlCheck('nope'), CheckID: 'extra' })).rejects.toMatchObject({ code: 'BEACON_ERR_NOT_FOUND' });
    expect(await behind.commands.deregisterService(NODE, 'nope')).toBe(false);
  });
});
