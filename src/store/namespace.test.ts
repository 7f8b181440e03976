import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isBeaconError } from '../errors/index.js';
import { expectCode, record } from './contract.test-suite.js';
import { countKeys, EmbeddedStore, namespaced, NamespacedStore, namespacePrefixProblem, NO_LEASE, openStore, storeCounters, type Store } from './index.js';

const dirs: string[] = [];
const stores: Store[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-ns-'));
  dirs.push(dir);
  return dir;
}
async function fresh(): Promise<EmbeddedStore> {
  const s = await EmbeddedStore.open({ dataDir: tempDir() });
  stores.push(s);
  return s;
}
/** A store holding keys in the namespace 'ns/' and around it. */
async function seeded(): Promise<EmbeddedStore> {
  const s = await fresh();
  for (const key of ['a', 'ns', 'ns/', 'ns0/a', 'nsx', 'other/a', 'ns/a', 'ns/b/1']) await s.put(key, `v:${key}`);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('namespaced store', () => {
  it('reads only keys under its prefix, and gives them back without it', async () => {
    const inner = await seeded();
    const ns = namespaced(inner, 'ns/');
    expect(await ns.get('a')).toMatchObject({ key: 'a', value: 'v:ns/a', version: 1, lease: NO_LEASE });
    expect(await ns.get('ns/a')).toBeUndefined();
    expect(await ns.get('other/a')).toBeUndefined();
    const all = await ns.range('');
    expect(all.kvs.map((kv) => [kv.key, kv.value])).toEqual([
      ['a', 'v:ns/a'],
      ['b/1', 'v:ns/b/1'],
    ]);
    expect(all.revision).toBe(await inner.currentRevision());
    expect((await ns.range('b/')).kvs.map((kv) => kv.key)).toEqual(['b/1']);
    expect(await ns.currentRevision()).toBe(await inner.currentRevision());
  });

  it('writes under its prefix and shares the revision with the store', async () => {
    const inner = await seeded();
    const ns = namespaced(inner, 'ns/');
    const { revision } = await ns.put('new', 'x');
    expect(revision).toBe(await inner.currentRevision());
    expect((await inner.get('ns/new'))?.modRevision).toBe(revision);
    expect(await inner.get('new')).toBeUndefined();
    expect(await ns.delete('a')).toEqual({ revision: revision + 1, deleted: 1 });
    expect(await inner.get('ns/a')).toBeUndefined();
    expect(await ns.delete('other/a')).toEqual({ revision: revision + 1, deleted: 0 });
    expect((await inner.get('other/a'))?.value).toBe('v:other/a');
  });

  it("deletePrefix('') empties the namespace and nothing else", async () => {
    const inner = await seeded();
    const ns = namespaced(inner, 'ns/');
    // 'ns/a', 'ns/b/1', and 'ns/' itself (which no view can write or read).
    expect((await ns.deletePrefix('')).deleted).toBe(3);
    expect((await ns.range('')).kvs).toEqual([]);
    expect((await inner.range('')).kvs.map((kv) => kv.key)).toEqual(['a', 'ns', 'ns0/a', 'nsx', 'other/a']);
  });

  it('compares and writes only inside the namespace in a txn', async () => {
    const inner = await seeded();
    const ns = namespaced(inner, 'ns/');
    // 'other/a' exists in the store, but not in the namespace: its version there is 0.
    const absent = await ns.txn(
      [{ key: 'other/a', target: 'version', op: '==', value: 0 }],
      [
        { type: 'put', key: 'other/a', value: 'mine' },
        { type: 'delete', key: 'a' },
        { type: 'deletePrefix', prefix: 'b/' },
      ],
    );
    expect(absent.succeeded).toBe(true);
    expect((await inner.get('ns/other/a'))?.value).toBe('mine');
    expect((await inner.get('other/a'))?.value).toBe('v:other/a');
    expect((await ns.range('')).kvs.map((kv) => kv.key)).toEqual(['other/a']);
    const value = await ns.txn([{ key: 'a', target: 'value', op: '==', value: 'v:a' }], [], [{ type: 'put', key: 'failed', value: '1' }]);
    expect(value.succeeded).toBe(false);
    expect((await inner.get('ns/failed'))?.value).toBe('1');
  });

  it('watches only its namespace, with keys (and prevKv) given back without the prefix', async () => {
    const inner = await seeded();
    const ns = namespaced(inner, 'ns/');
    const r0 = await inner.currentRevision();
    const created = (await inner.get('ns/a'))!.createRevision;
    const rec = record(ns, { prefix: '', fromRevision: r0 + 1 });
    const sub = record(ns, { prefix: 'b/', fromRevision: r0 + 1 });
    await inner.put('other/a', 'outside');
    await inner.put('ns/', 'the bare prefix');
    const put = await ns.put('a', 'two');
    const del = await ns.deletePrefix('b/');
    await inner.put('nsx', 'outside');
    const last = await ns.put('c', '3');
    await rec.untilRevision(last.revision);
    expect(rec.batches.map((b) => b.revision)).toEqual([put.revision, del.revision, last.revision]);
    expect(rec.batches[0].events).toEqual([
      {
        type: 'put',
        kv: { key: 'a', value: 'two', createRevision: created, modRevision: put.revision, version: 2, lease: NO_LEASE },
        prevKv: { key: 'a', value: 'v:ns/a', createRevision: created, modRevision: created, version: 1, lease: NO_LEASE },
      },
    ]);
    expect(rec.batches[1].events).toMatchObject([{ type: 'delete', kv: { key: 'b/1', value: '' }, prevKv: { key: 'b/1', value: 'v:ns/b/1' } }]);
    await sub.untilRevision(del.revision);
    expect(sub.batches.map((b) => b.events.map((e) => e.kv.key))).toEqual([['b/1']]);
    rec.cancel();
    sub.cancel();
  });

  it('replays history to a namespaced watch, and reports a compacted revision', async () => {
    const inner = await fresh();
    const ns = namespaced(inner, 'ns/');
    const a = await ns.put('k', '1');
    await inner.put('k', 'outside');
    const b = await ns.put('k', '2');
    const rec = record(ns, { prefix: 'k', fromRevision: a.revision });
    await rec.untilRevision(b.revision);
    expect(rec.batches.map((x) => [x.revision, x.events[0].kv.key, x.events[0].kv.value])).toEqual([
      [a.revision, 'k', '1'],
      [b.revision, 'k', '2'],
    ]);
    rec.cancel();
    await ns.compact(b.revision);
    expect((await inner.stats()).compactedRevision).toBe(b.revision);
    const old = record(ns, { prefix: '', fromRevision: a.revision });
    expect(isBeaconError(await old.untilError(), 'BEACON_ERR_COMPACTED')).toBe(true);
  });

  it('shares leases with the store: revoking one removes its namespaced keys (and any others on it)', async () => {
    const inner = await seeded();
    const ns = namespaced(inner, 'ns/');
    const lease = await ns.grant(30);
    await ns.put('eph/1', 'x', { lease });
    await ns.txn([], [{ type: 'put', key: 'eph/2', value: 'y', lease }]);
    await inner.put('outside-on-lease', 'z', { lease });
    expect((await ns.get('eph/1'))?.lease).toBe(lease);
    expect(await inner.keepAlive(lease)).toBeGreaterThanOrEqual(30);
    const r0 = await ns.currentRevision();
    const rec = record(ns, { prefix: '', fromRevision: r0 + 1 });
    await ns.revoke(lease);
    expect(await ns.currentRevision()).toBe(r0 + 1);
    expect((await ns.range('eph/')).kvs).toEqual([]);
    expect(await inner.get('outside-on-lease')).toBeUndefined();
    await rec.untilRevision(r0 + 1);
    expect(rec.batches[0].events.map((e) => [e.type, e.kv.key])).toEqual([
      ['delete', 'eph/1'],
      ['delete', 'eph/2'],
    ]);
    rec.cancel();
    await expectCode(ns.keepAlive(lease), 'BEACON_ERR_LEASE_NOT_FOUND');
  });

  it('expires namespaced keys with their lease', async () => {
    const inner = await fresh();
    const ns = namespaced(inner, 'ns/');
    const lease = await ns.grant(1);
    await ns.put('eph', 'x', { lease });
    await vi.waitFor(async () => expect(await ns.get('eph')).toBeUndefined(), { timeout: 10_000, interval: 50 });
    expect(await inner.get('ns/eph')).toBeUndefined();
  });

  it('counts only its own keys in stats; revision and leases are the store’s', async () => {
    const inner = await seeded();
    const ns = namespaced(inner, 'ns/');
    await inner.grant(30);
    const s = await ns.stats();
    expect(s).toEqual({ ...(await inner.stats()), keys: 2 });
    expect(await countKeys(ns, 'b/')).toBe(1);
    expect(await countKeys(inner, 'ns/')).toBe(3);
    // A nested view counts through both prefixes.
    const nested = namespaced(ns, 'b/');
    expect((await nested.stats()).keys).toBe(1);
    expect((await nested.range('')).kvs.map((kv) => kv.key)).toEqual(['1']);
  });

  it('passes the driver’s counters through for metrics', async () => {
    const inner = await fresh();
    const ns = namespaced(inner, 'ns/');
    await ns.put('k', 'v');
    expect(storeCounters(ns)).toEqual(storeCounters(inner));
    const bare = { driver: 'embedded' } as unknown as Store;
    expect(storeCounters(namespaced(bare, 'ns/'))).toBeUndefined();
  });

  it('rejects keys that would leave or reach the bare prefix, and writes nothing', async () => {
    const inner = await fresh();
    const ns = namespaced(inner, 'ns/');
    const r0 = await inner.currentRevision();
    await expectCode(ns.put('', 'v'), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.get(''), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.delete(''), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.txn([{ key: '', target: 'version', op: '==', value: 0 }], []), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.txn([], [{ type: 'put', key: '', value: 'v' }]), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.txn([], [], [{ type: 'delete', key: '' }]), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.txn([], [{ type: 'nope' } as never]), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.range(7 as unknown as string), 'BEACON_ERR_VALIDATION');
    await expectCode(ns.put(7 as unknown as string, 'v'), 'BEACON_ERR_VALIDATION');
    const err = await ns.txn([], [{ type: 'put', key: '', value: 'v' }]).catch((e: unknown) => e);
    expect(isBeaconError(err) && err.field).toBe('success[0].key');
    const bad = record(ns, { prefix: null as unknown as string, fromRevision: 0 });
    expect(isBeaconError(await bad.untilError(), 'BEACON_ERR_VALIDATION')).toBe(true);
    expect(await inner.currentRevision()).toBe(r0);
    expect((await inner.range('')).kvs).toEqual([]);
  });

  it('refuses a namespace prefix that is empty, lacks the trailing slash or holds control characters', () => {
    for (const bad of ['', 'ns', 'n\u0000s/', 'ns\n/', 'ns\u0085/', 5]) {
      expect(namespacePrefixProblem(bad), JSON.stringify(bad)).toBeDefined();
      let err: unknown;
      try {
        new NamespacedStore({} as Store, bad as string);
      } catch (e) {
        err = e;
      }
      expect(isBeaconError(err, 'BEACON_ERR_VALIDATION')).toBe(true);
    }
    for (const good of ['ns/', 'beacon/dc1/', '/', 'ü/']) expect(namespacePrefixProblem(good)).toBeUndefined();
  });

  it('closing a view ends that view only; the store and other views keep working', async () => {
    const inner = await fresh();
    const a = namespaced(inner, 'a/');
    const b = namespaced(inner, 'b/');
    await a.put('k', '1');
    const aWatch = record(a, { prefix: '', fromRevision: 0 });
    const bWatch = record(b, { prefix: '', fromRevision: 0 });
    await a.close();
    await a.close();
    expect(isBeaconError(await aWatch.untilError(), 'BEACON_ERR_STORE_CLOSED')).toBe(true);
    for (const call of [
      a.get('k'),
      a.range(''),
      a.put('k', '2'),
      a.delete('k'),
      a.deletePrefix(''),
      a.txn([], []),
      a.grant(5),
      a.keepAlive('1'),
      a.revoke('1'),
      a.compact(1),
      a.stats(),
      a.currentRevision(),
      a.countKeys(''),
    ]) {
      await expectCode(call, 'BEACON_ERR_STORE_CLOSED');
    }
    const late = record(a, { prefix: '', fromRevision: 0 });
    expect(isBeaconError(await late.untilError(), 'BEACON_ERR_STORE_CLOSED')).toBe(true);
    const put = await b.put('k', '2');
    await bWatch.untilRevision(put.revision);
    expect(bWatch.error).toBeUndefined();
    expect((await inner.get('a/k'))?.value).toBe('1');
    bWatch.cancel();
  });

  it('closes the store too when made with closeStore', async () => {
    const inner = await fresh();
    const ns = namespaced(inner, 'ns/', { closeStore: true });
    const innerWatch = record(inner, { prefix: '', fromRevision: 0 });
    await ns.close();
    await expectCode(inner.get('x'), 'BEACON_ERR_STORE_CLOSED');
    expect(isBeaconError(await innerWatch.untilError(), 'BEACON_ERR_STORE_CLOSED')).toBe(true);
  });

  it('stops delivering to a cancelled watch', async () => {
    const inner = await fresh();
    const ns = namespaced(inner, 'ns/');
    const rec = record(ns, { prefix: '', fromRevision: 0 });
    const first = await ns.put('k', '1');
    await rec.untilRevision(first.revision);
    rec.cancel();
    const probe = record(inner, { prefix: '', fromRevision: 0 });
    const second = await ns.put('k', '2');
    await probe.untilRevision(second.revision);
    probe.cancel();
    expect(rec.batches.map((b) => b.revision)).toEqual([first.revision]);
    expect(storeCounters(inner)?.watchers).toBe(0);
  });
});

describe('openStore with a prefix', () => {
  it('returns a namespaced view that owns the store', async () => {
    const dataDir = join(tempDir(), 'data');
    const s = await openStore('embedded', { dataDir, prefix: 'beacon/dc1/' });
    expect(s).toBeInstanceOf(NamespacedStore);
    expect(s.driver).toBe('embedded');
    await s.put('nodes/n1', '{}');
    await s.close();
    const raw = await openStore(`embedded://${dataDir}`);
    expect((await raw.range('')).kvs.map((kv) => kv.key)).toEqual(['beacon/dc1/nodes/n1']);
    await raw.close();
  });

  it('refuses a bad prefix with BEACON_ERR_CONFIG naming store-prefix, before creating anything', async () => {
    const dataDir = join(tempDir(), 'never');
    for (const prefix of ['', 'beacon', 'bea\tcon/']) {
      const err = await openStore('embedded', { dataDir, prefix }).catch((e: unknown) => e);
      expect(isBeaconError(err, 'BEACON_ERR_CONFIG')).toBe(true);
      expect((err as Error).message).toMatch(/^store-prefix /);
      expect(isBeaconError(err) && err.field).toBe('store-prefix');
    }
    expect(existsSync(dataDir)).toBe(false);
  });
});
