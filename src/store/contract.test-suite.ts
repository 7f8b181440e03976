/**
 * The store contract as a test suite: one body, every driver. A driver's
 * test file calls {@link runStoreContract} with a function that opens a store for one test.
 *
 * The store may be shared: it may hold other keys, and other writers may bump its revision
 * while a test runs (a real etcd cluster used by several test files, or a namespaced view next
 * to other namespaces). Every test therefore writes and reads only under a key prefix of its
 * own, and checks revisions relative to what it read at its start. Only an opener that says
 * `exclusive: true` also gets the exact checks: one revision per write, none skipped, no-ops
 * leave the revision where it was.
 *
 * Each test removes its keys and revokes its leases when it ends (unless it closed the store);
 * it may compact the store, but never past a revision it wrote itself.
 *
 * @example
 * // A store of its own: the exact revision checks run too.
 * runStoreContract('embedded', async () => {
 *   const dir = mkdtempSync(join(tmpdir(), 'store-'));
 *   const store = await EmbeddedStore.open({ dataDir: dir });
 *   return { store, exclusive: true, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true }); } };
 * });
 * // A namespace of a store that others use at the same time.
 * runStoreContract('shared', async () => {
 *   const store = namespaced(sharedStore, `contract-${randomUUID()}/`);
 *   return { store, cleanup: () => store.close() };
 * });
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isBeaconError } from '../errors/index.js';
import { expectCode, record, sleep } from './contract-helpers.test-suite.js';
import { NO_LEASE, type KeyValue, type LeaseId, type Store, type WatchBatch } from './types.js';

export { expectCode, record, startNeighbour, type Neighbour, type Recorder } from './contract-helpers.test-suite.js';

export interface OpenedStore {
  /** The store under test. It may hold other keys and have other writers (see `exclusive`). */
  store: Store;
  /**
   * True when nothing but the test writes to the store while it runs, so the suite may check
   * exact revision numbers. Default false: only order and monotonicity of revisions are checked.
   */
  exclusive?: boolean;
  /** Closes every store this opener handed out (closing twice is fine) and removes its data. */
  cleanup(): Promise<void>;
  /** Opens the same data again; the suite closes `store` first. Omit if the driver cannot. */
  reopen?: () => Promise<Store>;
}

function expectContiguous(batches: WatchBatch[]): void {
  for (let i = 1; i < batches.length; i++) expect(batches[i].revision).toBe(batches[i - 1].revision + 1);
}

/** Registers the shared contract suite for one driver. */
/** What a driver can be asked to do beyond the contract's core. */
export interface ContractFeatures {
  /** The opener's `reopen` works (a store shared with other writers cannot be reopened). Default true. */
  reopen?: boolean;
}

export function runStoreContract(name: string, open: () => Promise<OpenedStore>, features: ContractFeatures = {}): void {
  describe(`store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    let exclusive: boolean;
    /** This test's own key prefix: the store may hold other keys, and keep them. */
    let p: string;
    let granted: LeaseId[];
    const k = (key: string): string => p + key;
    /** Keys of `kvs` without this test's prefix. */
    const rel = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => kv.key.slice(p.length));
    const grant = async (ttl: number): Promise<LeaseId> => {
      const lease = await store.grant(ttl);
      granted.push(lease);
      return lease;
    };
    /**
     * The batches under this test's prefix after revision `after`, up to a marker written now:
     * what changed there, without relying on the store's revision (others may bump it).
     */
    const changesSince = async (after: number): Promise<WatchBatch[]> => {
      const rec = record(store, { prefix: p, fromRevision: after + 1 });
      const mark = await store.put(k('~mark'), '');
      await rec.untilRevision(mark.revision);
      rec.cancel();
      await store.delete(k('~mark'));
      expect(rec.error).toBeUndefined();
      return rec.batches.filter((b) => b.revision < mark.revision);
    };

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      exclusive = opened.exclusive === true;
      p = `contract-${randomUUID().slice(0, 8)}/`;
      granted = [];
    });
    afterEach(async () => {
      // Leave a shared store as it was found (best effort: the test may have closed it).
      for (const lease of granted) await store.revoke(lease).catch(() => undefined);
      await store.deletePrefix(p).catch(() => undefined);
      await opened.cleanup();
    });

    describe('keys and revisions', () => {
      it('reads nothing under a prefix nobody wrote to', async () => {
        const r0 = await store.currentRevision();
        expect(await store.get(k('a'))).toBeUndefined();
        const r = await store.range(p);
        expect(r.kvs).toEqual([]);
        expect(r.revision).toBeGreaterThanOrEqual(r0);
        expect(r.revision).toBeLessThanOrEqual(await store.currentRevision());
        if (exclusive) expect(r.revision).toBe(r0);
      });

      it('bumps the revision once per write, in order, and reports it', async () => {
        const r0 = await store.currentRevision();
        const a = await store.put(k('a'), '1');
        const b = await store.put(k('b'), '2');
        const c = await store.delete(k('a'));
        expect(a.revision).toBeGreaterThan(r0);
        expect(b.revision).toBeGreaterThan(a.revision);
        expect(c.revision).toBeGreaterThan(b.revision);
        expect(await store.currentRevision()).toBeGreaterThanOrEqual(c.revision);
        expect((await changesSince(r0)).map((batch) => batch.revision)).toEqual([a.revision, b.revision, c.revision]);
        if (exclusive) expect([a.revision, b.revision, c.revision]).toEqual([r0 + 1, r0 + 2, r0 + 3]);
      });

      it('gives every concurrent write its own revision', async () => {
        const r0 = await store.currentRevision();
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(k(`k/${i}`), String(i))));
        const revs = results.map((r) => r.revision).sort((x, y) => x - y);
        expect(new Set(revs).size).toBe(200);
        expect(revs[0]).toBeGreaterThan(r0);
        expect(revs[199]).toBeLessThanOrEqual(await store.currentRevision());
        if (exclusive) expect(revs).toEqual(Array.from({ length: 200 }, (_, i) => r0 + 1 + i));
        const { kvs } = await store.range(k('k/'));
        expect(kvs).toHaveLength(200);
        // Each key's modRevision is the revision its put reported.
        const byKey = new Map(kvs.map((kv) => [kv.key, kv.modRevision]));
        results.forEach((r, i) => expect(byKey.get(k(`k/${i}`))).toBe(r.revision));
      });

      it('tracks createRevision, modRevision and version', async () => {
        const p1 = await store.put(k('x'), 'one');
        expect(await store.get(k('x'))).toEqual({
          key: k('x'),
          value: 'one',
          createRevision: p1.revision,
          modRevision: p1.revision,
          version: 1,
          lease: NO_LEASE,
        });
        const p2 = await store.put(k('x'), 'two');
        expect(await store.get(k('x'))).toMatchObject({ value: 'two', createRevision: p1.revision, modRevision: p2.revision, version: 2 });
        await store.delete(k('x'));
        const p3 = await store.put(k('x'), 'three');
        expect(await store.get(k('x'))).toMatchObject({ value: 'three', createRevision: p3.revision, modRevision: p3.revision, version: 1 });
      });

      it('ranges by prefix, sorted by key', async () => {
        for (const key of ['svc/b', 'svc/a', 'svc/c/1', 'svd', 'sv', 'other']) await store.put(k(key), key.toUpperCase());
        const before = await store.currentRevision();
        const r = await store.range(k('svc/'));
        expect(rel(r.kvs)).toEqual(['svc/a', 'svc/b', 'svc/c/1']);
        expect(r.kvs.map((kv) => kv.value)).toEqual(['SVC/A', 'SVC/B', 'SVC/C/1']);
        expect(r.revision).toBeGreaterThanOrEqual(before);
        expect(r.revision).toBeLessThanOrEqual(await store.currentRevision());
        expect(rel((await store.range(p)).kvs)).toEqual(['other', 'sv', 'svc/a', 'svc/b', 'svc/c/1', 'svd']);
        expect((await store.range(k('nothing/'))).kvs).toEqual([]);
        // An empty prefix is everything: this test's keys among whatever else the store holds, all in order.
        const all = (await store.range('')).kvs.map((kv) => kv.key);
        expect(all).toEqual([...all].sort());
        expect(all.filter((key) => key.startsWith(p))).toEqual(['other', 'sv', 'svc/a', 'svc/b', 'svc/c/1', 'svd'].map(k));
      });

      it('deletes a key; deleting a missing key changes nothing', async () => {
        await store.put(k('a'), '1');
        const d = await store.delete(k('a'));
        expect(d.deleted).toBe(1);
        expect(await store.get(k('a'))).toBeUndefined();
        const again = await store.delete(k('a'));
        expect(again.deleted).toBe(0);
        expect(again.revision).toBeGreaterThanOrEqual(d.revision);
        if (exclusive) {
          expect(again.revision).toBe(d.revision);
          expect(await store.currentRevision()).toBe(d.revision);
        }
        expect(await changesSince(d.revision)).toEqual([]);
      });

      it('deletes a prefix in one revision; an empty prefix match changes nothing', async () => {
        await store.put(k('p/1'), 'a');
        await store.put(k('p/2'), 'b');
        await store.put(k('q/1'), 'c');
        const r0 = await store.currentRevision();
        const d = await store.deletePrefix(k('p/'));
        expect(d.deleted).toBe(2);
        expect(d.revision).toBeGreaterThan(r0);
        expect(rel((await store.range(p)).kvs)).toEqual(['q/1']);
        const again = await store.deletePrefix(k('p/'));
        expect(again.deleted).toBe(0);
        expect(again.revision).toBeGreaterThanOrEqual(d.revision);
        const changes = await changesSince(r0);
        expect(changes.map((b) => [b.revision, b.events.map((e) => [e.type, e.kv.key])])).toEqual([
          [
            d.revision,
            [
              ['delete', k('p/1')],
              ['delete', k('p/2')],
            ],
          ],
        ]);
        if (exclusive) {
          expect(d.revision).toBe(r0 + 1);
          expect(again.revision).toBe(r0 + 1);
        }
      });

      it('rejects an empty key and changes nothing', async () => {
        const r0 = await store.currentRevision();
        await expectCode(store.put('', 'v'), 'BEACON_ERR_VALIDATION');
        if (exclusive) expect(await store.currentRevision()).toBe(r0);
      });
    });

    describe('txn', () => {
      it('creates a key only if absent (version == 0)', async () => {
        const create = (v: string) => store.txn([{ key: k('lock'), target: 'version', op: '==', value: 0 }], [{ type: 'put', key: k('lock'), value: v }]);
        const first = await create('me');
        expect(first.succeeded).toBe(true);
        const second = await create('you');
        expect(second.succeeded).toBe(false);
        expect(second.revision).toBeGreaterThanOrEqual(first.revision);
        if (exclusive) expect(second.revision).toBe(first.revision);
        expect((await store.get(k('lock')))?.value).toBe('me');
        expect(await changesSince(first.revision)).toEqual([]);
      });

      it('compares and swaps on modRevision, applying the failure branch when it does not hold', async () => {
        const v1 = await store.put(k('cfg'), 'v1');
        const v2 = await store.put(k('cfg'), 'v2');
        const stale = await store.txn(
          [{ key: k('cfg'), target: 'modRevision', op: '==', value: v1.revision }],
          [{ type: 'put', key: k('cfg'), value: 'v3' }],
          [{ type: 'put', key: k('conflicts'), value: '1' }],
        );
        expect(stale.succeeded).toBe(false);
        expect(stale.revision).toBeGreaterThan(v2.revision);
        expect((await store.get(k('cfg')))?.value).toBe('v2');
        expect((await store.get(k('conflicts')))?.modRevision).toBe(stale.revision);
        const fresh = await store.txn([{ key: k('cfg'), target: 'modRevision', op: '==', value: v2.revision }], [{ type: 'put', key: k('cfg'), value: 'v3' }]);
        expect(fresh.succeeded).toBe(true);
        expect(fresh.revision).toBeGreaterThan(stale.revision);
        expect((await store.get(k('cfg')))?.value).toBe('v3');
        if (exclusive) expect([v2.revision, stale.revision, fresh.revision]).toEqual([v1.revision + 1, v1.revision + 2, v1.revision + 3]);
      });

      it('evaluates value, version and createRevision compares with every operator', async () => {
        const { revision } = await store.put(k('k'), 'm');
        const holds = async (c: Parameters<Store['txn']>[0][number]) => (await store.txn([c], [])).succeeded;
        expect(await holds({ key: k('k'), target: 'value', op: '==', value: 'm' })).toBe(true);
        expect(await holds({ key: k('k'), target: 'value', op: '!=', value: 'm' })).toBe(false);
        expect(await holds({ key: k('k'), target: 'value', op: '<', value: 'n' })).toBe(true);
        expect(await holds({ key: k('k'), target: 'value', op: '>', value: 'n' })).toBe(false);
        expect(await holds({ key: k('k'), target: 'version', op: '>', value: 0 })).toBe(true);
        expect(await holds({ key: k('k'), target: 'createRevision', op: '==', value: revision })).toBe(true);
        expect(await holds({ key: k('k'), target: 'modRevision', op: '<', value: revision })).toBe(false);
        expect(await holds({ key: k('missing'), target: 'value', op: '==', value: '' })).toBe(true);
        expect(await holds({ key: k('missing'), target: 'createRevision', op: '==', value: 0 })).toBe(true);
        if (exclusive) expect(await store.currentRevision()).toBe(revision);
        expect(await changesSince(revision)).toEqual([]);
      });

      it('applies all ops in one revision and does not bump the revision when nothing changes', async () => {
        await store.put(k('old/1'), 'x');
        await store.put(k('old/2'), 'y');
        await store.put(k('gone'), 'z');
        const r0 = await store.currentRevision();
        const res = await store.txn(
          [],
          [
            { type: 'put', key: k('new/1'), value: 'a' },
            { type: 'put', key: k('new/2'), value: 'b' },
            { type: 'delete', key: k('gone') },
            { type: 'deletePrefix', prefix: k('old/') },
          ],
        );
        expect(res.succeeded).toBe(true);
        expect(res.revision).toBeGreaterThan(r0);
        expect((await store.range(p)).kvs.map((kv) => [kv.key, kv.modRevision])).toEqual([
          [k('new/1'), res.revision],
          [k('new/2'), res.revision],
        ]);
        const noop = await store.txn([{ key: k('new/1'), target: 'value', op: '==', value: 'a' }], [{ type: 'delete', key: k('absent') }]);
        expect(noop.succeeded).toBe(true);
        expect(noop.revision).toBeGreaterThanOrEqual(res.revision);
        if (exclusive) {
          expect(res.revision).toBe(r0 + 1);
          expect(noop.revision).toBe(r0 + 1);
          expect(await store.currentRevision()).toBe(r0 + 1);
        }
        const changes = await changesSince(r0);
        expect(changes.map((b) => b.revision)).toEqual([res.revision]);
        expect(changes[0].events.map((e) => [e.type, e.kv.key])).toEqual([
          ['put', k('new/1')],
          ['put', k('new/2')],
          ['delete', k('gone')],
          ['delete', k('old/1')],
          ['delete', k('old/2')],
        ]);
      });
    });

    describe('leases', () => {
      it('grants, keeps alive and attaches keys', async () => {
        const lease = await grant(5);
        expect(lease).not.toBe(NO_LEASE);
        expect(await store.keepAlive(lease)).toBeGreaterThanOrEqual(5);
        await store.put(k('node/a'), '1', { lease });
        expect((await store.get(k('node/a')))?.lease).toBe(lease);
        await store.put(k('node/a'), '2');
        expect((await store.get(k('node/a')))?.lease).toBe(NO_LEASE);
        await store.revoke(lease);
        expect((await store.get(k('node/a')))?.value).toBe('2');
      });

      it('revoking deletes every attached key in one revision; unknown leases are a no-op', async () => {
        const lease = await grant(30);
        await store.put(k('s/1'), 'a', { lease });
        await store.txn([], [{ type: 'put', key: k('s/2'), value: 'b', lease }]);
        await store.put(k('s/3'), 'c');
        const r0 = await store.currentRevision();
        await store.revoke(lease);
        expect(rel((await store.range(p)).kvs)).toEqual(['s/3']);
        if (exclusive) expect(await store.currentRevision()).toBe(r0 + 1);
        await expectCode(store.keepAlive(lease), 'BEACON_ERR_LEASE_NOT_FOUND');
        await store.revoke(lease);
        await store.revoke('123456789');
        if (exclusive) expect(await store.currentRevision()).toBe(r0 + 1);
        const changes = await changesSince(r0);
        expect(changes).toHaveLength(1);
        expect(changes[0].events.map((e) => [e.type, e.kv.key])).toEqual([
          ['delete', k('s/1')],
          ['delete', k('s/2')],
        ]);
      });

      it('rejects a put on an unknown lease and changes nothing', async () => {
        const r0 = await store.currentRevision();
        await expectCode(store.put(k('k'), 'v', { lease: '987654321' }), 'BEACON_ERR_LEASE_NOT_FOUND');
        await expectCode(store.txn([], [{ type: 'put', key: k('k'), value: 'v', lease: '987654321' }]), 'BEACON_ERR_LEASE_NOT_FOUND');
        await expectCode(store.keepAlive('987654321'), 'BEACON_ERR_LEASE_NOT_FOUND');
        expect(await store.get(k('k'))).toBeUndefined();
        if (exclusive) expect(await store.currentRevision()).toBe(r0);
        expect(await changesSince(r0)).toEqual([]);
      });

      it('rejects a TTL below one second', async () => {
        await expectCode(store.grant(0), 'BEACON_ERR_VALIDATION');
      });

      it('deletes the keys of a lease that expires, in one revision', async () => {
        const lease = await grant(1);
        await store.put(k('eph/1'), 'a', { lease });
        const last = await store.put(k('eph/2'), 'b', { lease });
        await vi.waitFor(async () => expect((await store.range(p)).kvs).toEqual([]), { timeout: 10_000, interval: 100 });
        if (exclusive) expect(await store.currentRevision()).toBe(last.revision + 1);
        await expectCode(store.keepAlive(lease), 'BEACON_ERR_LEASE_NOT_FOUND');
        const changes = await changesSince(last.revision);
        expect(changes).toHaveLength(1);
        expect(changes[0].events.map((e) => [e.type, e.kv.key])).toEqual([
          ['delete', k('eph/1')],
          ['delete', k('eph/2')],
        ]);
      });

      it('keeps a lease that is kept alive past its TTL', async () => {
        const lease = await grant(1);
        await store.put(k('live'), 'a', { lease });
        const ttl = await store.keepAlive(lease);
        for (let i = 0; i < 8; i++) {
          await sleep(Math.min(300, (ttl * 1000) / 3));
          await store.keepAlive(lease);
        }
        expect((await store.get(k('live')))?.lease).toBe(lease);
        await store.revoke(lease);
      });
    });

    describe('watch', () => {
      it('replays from a revision in order, then goes live', async () => {
        const first = await store.put(k('w/a'), '1');
        const second = await store.put(k('w/b'), '2');
        const third = await store.delete(k('w/a'));
        const rec = record(store, { prefix: p, fromRevision: first.revision });
        const live = await store.put(k('w/c'), '3');
        await rec.untilRevision(live.revision);
        expect(rec.batches.map((b) => b.revision)).toEqual([first.revision, second.revision, third.revision, live.revision]);
        if (exclusive) expectContiguous(rec.batches);
        const [put, , del] = rec.batches;
        expect(put.events).toEqual([
          { type: 'put', kv: { key: k('w/a'), value: '1', createRevision: first.revision, modRevision: first.revision, version: 1, lease: NO_LEASE } },
        ]);
        expect(del.events).toHaveLength(1);
        expect(del.events[0]).toMatchObject({ type: 'delete', kv: { key: k('w/a'), value: '', modRevision: third.revision } });
        expect(rec.error).toBeUndefined();
        rec.cancel();
      });

      it('replays every revision of the store, without gaps, to a watch of everything', async () => {
        const r0 = await store.currentRevision();
        const rec = record(store, { prefix: '', fromRevision: r0 + 1 });
        const a = await store.put(k('a'), '1');
        const b = await store.put(k('b'), '2');
        await rec.untilRevision(b.revision);
        const revs = rec.batches.map((batch) => batch.revision);
        expect(revs).toContain(a.revision);
        expect(revs).toContain(b.revision);
        for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1]);
        if (exclusive) {
          expect(revs[0]).toBe(r0 + 1);
          expectContiguous(rec.batches);
        }
        rec.cancel();
      });

      it('delivers only matching keys to a prefix watch, one batch per revision', async () => {
        const r0 = await store.currentRevision();
        const rec = record(store, { prefix: k('svc/'), fromRevision: r0 + 1 });
        const a = await store.put(k('svc/a'), '1');
        await store.put(k('node/x'), '2');
        const t = await store.txn(
          [],
          [
            { type: 'put', key: k('svc/b'), value: '3' },
            { type: 'put', key: k('node/y'), value: '4' },
            { type: 'put', key: k('svc/c'), value: '5' },
          ],
        );
        await rec.untilRevision(t.revision);
        expect(rec.batches.map((b) => b.revision)).toEqual([a.revision, t.revision]);
        expect(rec.batches[1].events.map((e) => e.kv.key)).toEqual([k('svc/b'), k('svc/c')]);
        rec.cancel();
      });

      it('from revision 0 delivers only later changes, and stops after cancel', async () => {
        await store.put(k('a'), 'old');
        const rec = record(store, { prefix: p, fromRevision: 0 });
        await sleep(20);
        const put = await store.put(k('a'), 'new');
        await rec.untilRevision(put.revision);
        expect(rec.batches.map((b) => b.revision)).toEqual([put.revision]);
        expect(rec.batches[0].events[0]).toMatchObject({ type: 'put', kv: { value: 'new', version: 2 } });
        rec.cancel();
        await store.put(k('a'), 'newer');
        await sleep(50);
        expect(rec.batches).toHaveLength(1);
      });

      it('sees every one of many concurrent writes, in order', async () => {
        const r0 = await store.currentRevision();
        const rec = record(store, { prefix: k('c/'), fromRevision: r0 + 1 });
        const results = await Promise.all(Array.from({ length: 300 }, (_, i) => store.put(k(`c/${i % 50}`), String(i))));
        const revs = results.map((r) => r.revision).sort((x, y) => x - y);
        await rec.untilRevision(revs[299]);
        expect(rec.batches.map((b) => b.revision)).toEqual(revs);
        if (exclusive) expectContiguous(rec.batches);
        rec.cancel();
      });

      it('answers BEACON_ERR_COMPACTED for a compacted revision, and works just above it', async () => {
        const a = await store.put(k('h'), '1');
        const b = await store.put(k('h'), '2');
        const c = await store.put(k('h'), '3');
        await store.compact(b.revision);
        expect((await store.stats()).compactedRevision).toBeGreaterThanOrEqual(b.revision);
        const old = record(store, { prefix: p, fromRevision: a.revision });
        const err = await old.untilError();
        expect(isBeaconError(err, 'BEACON_ERR_COMPACTED')).toBe(true);
        const ok = record(store, { prefix: p, fromRevision: b.revision + 1 });
        await ok.untilRevision(c.revision);
        expect(ok.batches[0].revision).toBe(c.revision);
        expect(ok.batches[0].events[0].kv.value).toBe('3');
        expect(ok.error).toBeUndefined();
        ok.cancel();
      });
    });

    describe('lifecycle', () => {
      it('reports stats', async () => {
        const lease = await grant(10);
        await store.put(k('a'), '1', { lease });
        const last = await store.put(k('b'), '2');
        const s = await store.stats();
        expect(s.driver).toBe(store.driver);
        expect(s.revision).toBeGreaterThanOrEqual(last.revision);
        expect(s.revision).toBeLessThanOrEqual(await store.currentRevision());
        expect(s.keys).toBeGreaterThanOrEqual(2);
        expect(s.leases).toBeGreaterThanOrEqual(1);
        expect(s.compactedRevision).toBeLessThan(s.revision);
        if (exclusive) expect(s.revision).toBe(last.revision);
      });

      it('fails every call with BEACON_ERR_STORE_CLOSED after close', async () => {
        await store.put(k('a'), '1');
        await store.close();
        await expectCode(store.get(k('a')), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.range(''), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.put(k('a'), '2'), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.delete(k('a')), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.txn([], []), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.grant(5), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.currentRevision(), 'BEACON_ERR_STORE_CLOSED');
        const rec = record(store, { prefix: p, fromRevision: 0 });
        expect(isBeaconError(await rec.untilError(), 'BEACON_ERR_STORE_CLOSED')).toBe(true);
      });

      it('ends open watches with BEACON_ERR_STORE_CLOSED on close', async () => {
        const rec = record(store, { prefix: p, fromRevision: 0 });
        await store.close();
        expect(isBeaconError(await rec.untilError(), 'BEACON_ERR_STORE_CLOSED')).toBe(true);
      });

      // Registered only for drivers that can reopen, so no run reports a skipped test.
      if (features.reopen !== false)
        it('keeps data, revision and leases across a reopen', async () => {
          if (opened.reopen === undefined) throw new Error(`the ${name} opener gave no reopen(); pass { reopen: false } to runStoreContract`);
          const lease = await grant(30);
          const first = await store.put(k('keep/1'), 'a');
          const second = await store.put(k('keep/2'), 'b', { lease });
          const last = await store.put(k('keep/1'), 'c');
          await store.close();
          const again = await opened.reopen();
          expect(await again.currentRevision()).toBeGreaterThanOrEqual(last.revision);
          if (exclusive) expect(await again.currentRevision()).toBe(last.revision);
          expect((await again.range(k('keep/'))).kvs).toEqual([
            { key: k('keep/1'), value: 'c', createRevision: first.revision, modRevision: last.revision, version: 2, lease: NO_LEASE },
            { key: k('keep/2'), value: 'b', createRevision: second.revision, modRevision: second.revision, version: 1, lease },
          ]);
          expect(await again.keepAlive(lease)).toBeGreaterThanOrEqual(30);
          const next = await again.put(k('keep/3'), 'd');
          expect(next.revision).toBeGreaterThan(last.revision);
          if (exclusive) expect(next.revision).toBe(last.revision + 1);
          await again.revoke(lease);
          expect(await again.get(k('keep/2'))).toBeUndefined();
          await again.deletePrefix(p);
          await again.close();
        });
    });
  });
}
