import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { isBeaconError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import type { Catalog } from './catalog.js';
import { fenceOf, ServerRegistry, serverKey, type ServerInfo, type ServerMember } from './servers.js';
import { CatalogSessions } from './sessions.js';

let fixture: TestCatalog;
let store: Store;
let catalog: Catalog;
let registry: ServerRegistry;

const info = (node: string): ServerInfo => ({
  Node: node,
  Addr: '127.0.0.1',
  Http: '127.0.0.1:1',
  Dns: '',
  Datacenter: 'dc1',
  Version: '0',
  Since: new Date(0).toISOString(),
});

beforeEach(async () => {
  ({ store, catalog } = fixture = await openTestCatalog('beacon-servers-'));
  registry = new ServerRegistry(store);
});
afterEach(async () => {
  await fixture.close();
});

const web = {
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
} as const;

const ttlCheck = {
  Node: 'shared',
  CheckID: 'service:web-1',
  Name: 'ttl',
  Status: 'passing',
  Notes: '',
  Output: '',
  ServiceID: 'web-1',
  ServiceName: 'web',
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 10_000 },
} as const;

async function withSharedService(): Promise<void> {
  await catalog.commands.registerService('shared', { ...web, Tags: [] }, [{ ...ttlCheck, ServiceTags: [] }], {
    node: { ID: '', Node: 'shared', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
  });
}

describe('ServerRegistry', () => {
  it('a member key lives on its session lease and goes with it; the watch follows joins and leaves', async () => {
    const sessions = new CatalogSessions(store);
    const seen: string[][] = [];
    const follow = await registry.watch({ changed: (m) => seen.push([...m.keys()].sort()) });
    const sa = await sessions.open('a', 10);
    const a = await registry.join(info('a'), sa.id);
    const sb = await sessions.open('b', 10);
    const b = await registry.join(info('b'), sb.id);
    expect(b.createRevision).toBeGreaterThan(a.createRevision);
    expect([...(await registry.list()).keys()].sort()).toEqual(['a', 'b']);
    await sa.end({ revoke: true });
    expect(await store.get(serverKey('a'))).toBeUndefined();
    await expect.poll(() => seen.at(-1)).toEqual(['b']);
    expect(seen).toContainEqual(['a', 'b']);
    follow.cancel();
  });

  it('a write fenced on a membership lands while it lasts and is refused, writing nothing, once it ended', async () => {
    await withSharedService();
    const sessions = new CatalogSessions(store);
    const s = await sessions.open('a', 10);
    const m: ServerMember = await registry.join(info('a'), s.id);
    const fence = fenceOf(m);
    expect(await registry.holds(fence)).toBe(true);
    const ok = await catalog.commands.setCheckStatus('shared', 'service:web-1', { status: 'warning', output: 'w' }, { fence });
    expect(ok.written).toBe(true);

    // The session lapses (revoked here): the membership is over, and so is the fence.
    await s.end({ revoke: true });
    expect(await registry.holds(fence)).toBe(false);
    const before = await store.currentRevision();
    const err = await catalog.commands.setCheckStatus('shared', 'service:web-1', { status: 'critical', output: 'zombie' }, { fence }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_NOT_OWNER')).toBe(true);
    expect(await store.currentRevision()).toBe(before);
    expect(catalog.check('shared', 'service:web-1')?.record.Status).toBe('warning');

    // Joining again is a new membership: the old fence stays dead.
    const s2 = await sessions.open('a', 10);
    const m2 = await registry.join(info('a'), s2.id);
    expect(m2.createRevision).toBeGreaterThan(m.createRevision);
    const again = await catalog.commands.deregisterService('shared', 'web-1', { fence }).catch((e: unknown) => e);
    expect(isBeaconError(again, 'BEACON_ERR_NOT_OWNER')).toBe(true);
    expect(catalog.serviceRecord('shared', 'web-1')).toBeDefined();
    expect(await catalog.commands.deregisterService('shared', 'web-1', { fence: fenceOf(m2) })).toBe(true);
  });
});
