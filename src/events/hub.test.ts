/**
 * The hub on real catalogs over one embedded store: two catalogs (two servers of one store)
 * derive the same events at the same revisions, and a catalog that re-lists after a compacted
 * watch puts a gap event in its history.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { Catalog, type CheckRecord, type NodeRecord, type ServiceRecord } from '../catalog/index.js';
import { BeaconError } from '../errors/index.js';
import { EventHub } from './hub.js';

/** The store's types, reached through the test fixture (events does not import the store). */
type Store = TestCatalog['store'];
type WatchOptions = Parameters<Store['watch']>[0];

const NODE = 'n1';
const node: NodeRecord = { ID: '', Node: NODE, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
const svc: ServiceRecord = {
  ID: 'web-1',
  Service: 'web',
  Tags: [],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
};
const check: CheckRecord = {
  Node: NODE,
  CheckID: 'service:web-1',
  Name: 'ttl',
  Status: 'critical',
  Notes: '',
  Output: '',
  ServiceID: 'web-1',
  ServiceName: 'web',
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 60_000 },
};

/** The store with a watch that can be failed as compacted on demand. */
function breakable(inner: Store): { store: Store; compact(): void } {
  let current: { opts: WatchOptions; cancel(): void } | undefined;
  const store: Store = Object.create(inner) as Store;
  store.watch = (opts) => {
    const h = inner.watch(opts);
    current = { opts, cancel: () => h.cancel() };
    return h;
  };
  return {
    store,
    compact() {
      current?.cancel();
      current?.opts.onError(new BeaconError('BEACON_ERR_COMPACTED', 'compacted'));
    },
  };
}

const strip = (h: EventHub) => h.history.after(0).map((e) => ({ ...e.event, time: 0 }));

describe('EventHub on catalogs', () => {
  let fixture: TestCatalog;
  let other: Catalog;
  let broken: ReturnType<typeof breakable>;
  const hubs: EventHub[] = [];

  beforeEach(async () => {
    fixture = await openTestCatalog('beacon-events-hub-');
    broken = breakable(fixture.store);
    other = new Catalog(broken.store, { datacenter: 'dc1' });
    await other.start();
    for (const c of [fixture.catalog, other]) {
      const h = new EventHub({ datacenter: 'dc1', history: { maxEvents: 1000, maxAgeMs: 3_600_000 } });
      h.attach(c);
      hubs.push(h);
    }
  });
  afterEach(async () => {
    for (const h of hubs.splice(0)) h.stop();
    other.stop();
    await fixture.close();
  });

  it('derives the same events at the same revisions on two catalogs of one store', async () => {
    const cmd = fixture.catalog.commands;
    await cmd.registerNodeWith(node, [], []);
    await cmd.registerService(NODE, svc, [check]);
    await cmd.setCheckStatus(NODE, 'service:web-1', { status: 'passing', output: 'ok' });
    await cmd.registerService(NODE, { ...svc, Port: 81 }, [check]);
    await cmd.deregisterService(NODE, 'web-1');
    await other.waitForRevision(fixture.catalog.revision);
    const a = strip(hubs[0]);
    expect(a.map((e) => e.kind)).toEqual(['node-registered', 'service-registered', 'check-status', 'service-updated', 'service-deregistered']);
    expect(strip(hubs[1])).toEqual(a);
  });

  it('puts a gap event in the history when the catalog re-lists after a compacted watch', async () => {
    await fixture.catalog.commands.registerNodeWith(node, [], []);
    await other.waitForRevision(fixture.catalog.revision);
    const before = other.revision;
    broken.compact();
    await fixture.catalog.commands.registerService(NODE, svc, [check]);
    const rev = fixture.catalog.revision;
    await other.waitForRevision(rev);
    const deadline = Date.now() + 10_000;
    while (!hubs[1].history.after(0).some((e) => e.event.kind === 'gap') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const gap = hubs[1].history.after(0).find((e) => e.event.kind === 'gap')!.event;
    expect(gap.after).toBe(before);
    expect(gap.revision).toBeGreaterThanOrEqual(before);
    expect(hubs[1].gaps).toBe(1);
  });
});
