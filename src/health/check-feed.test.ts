import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { Catalog, type CheckRecord, type Indexed } from '../catalog/index.js';
import type { Store } from '../store/index.js';
import { CheckFeed, checksPrefix, checkStoreKey } from './check-feed.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const rec = (id: string): CheckRecord => ({
  Node: 'n 1', CheckID: id, Name: id, Status: 'critical', Notes: '', Output: '', ServiceID: '', ServiceName: '',
  ServiceTags: [], Type: 'ttl', Definition: { TTLMs: 1000 },
});

let fixture: TestCatalog;
let store: Store;
let catalog: Catalog;
beforeEach(async () => {
  ({ store, catalog } = fixture = await openTestCatalog('beacon-feed-'));
});
afterEach(async () => {
  await fixture.close();
});

describe('CheckFeed', () => {
  it('derives the check key prefix from the catalog layout', () => {
    expect(checksPrefix(catalog)).toBe('beacon/catalog/checks/');
    expect(checkStoreKey(catalog, 'n 1', 'a/b')).toBe('beacon/catalog/checks/n%201/a%2Fb');
  });

  it('delivers each changed check exactly, and deletes with their store key', async () => {
    const puts: Indexed<CheckRecord>[] = [];
    const deletes: [string, string | undefined][] = [];
    const feed = new CheckFeed(store, catalog, quiet, {
      put: (c) => puts.push(c), delete: (k, prev) => deletes.push([k, prev?.CheckID]), resync: () => undefined,
    });
    feed.start(catalog.revision + 1);
    await catalog.write([catalog.putCheckOp(rec('a')), catalog.putCheckOp(rec('b')), catalog.putNodeOp({ ID: 'x', Node: 'n 1', Address: '1.2.3.4', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} })]);
    const rev = await catalog.write([catalog.deleteCheckOp('n 1', 'a')]);
    await catalog.waitForRevision(rev);
    expect(puts.map((p) => p.record.CheckID)).toEqual(['a', 'b']);
    expect(puts[0]!.modifyIndex).toBe(rev - 1);
    expect(deletes).toEqual([[checkStoreKey(catalog, 'n 1', 'a'), 'a']]);
    expect(feed.revision).toBe(rev);
    feed.stop();
  });
});
