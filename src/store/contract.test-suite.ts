/**
 * The store contract as a test suite: one body, every driver (conventions.md #3). A driver's
 * test file calls {@link runStoreContract} with a function that opens a fresh, empty store.
 *
 * @example
 * runStoreContract('embedded', async () => {
 *   const dir = mkdtempSync(join(tmpdir(), 'store-'));
 *   const store = await EmbeddedStore.open({ dataDir: dir });
 *   return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true }); } };
 * });
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isBeaconError, type ErrorCode } from '../errors/index.js';
import { NO_LEASE, type Store, type WatchBatch, type WatchOptions } from './types.js';

export interface OpenedStore {
  /** A fresh store with no keys. */
  store: Store;
  /** Closes every store this opener handed out (closing twice is fine) and removes its data. */
  cleanup(): Promise<void>;
  /** Opens the same data again; the suite closes `store` first. Omit if the driver cannot. */
  reopen?: () => Promise<Store>;
}

/** A watch that records what it gets, with waits bounded in time. */
export interface Recorder {
  batches: WatchBatch[];
  error: Error | undefined;
  cancel(): void;
  /** Waits until the recorded batches reach `revision` (or fails after `timeoutMs`). */
  untilRevision(revision: number, timeoutMs?: number): Promise<void>;
  untilError(timeoutMs?: number): Promise<Error>;
}

export function record(store: Store, opts: Omit<WatchOptions, 'onBatch' | 'onError'>): Recorder {
  const rec: Recorder = {
    batches: [],
    error: undefined,
    cancel: () => handle.cancel(),
    untilRevision: (revision, timeoutMs = 5000) =>
      vi.waitFor(() => expect(rec.batches.at(-1)?.revision ?? 0).toBeGreaterThanOrEqual(revision), { timeout: timeoutMs, interval: 5 }).then(() => undefined),
    untilError: (timeoutMs = 5000) =>
      vi.waitFor(
        () => {
          expect(rec.error).toBeDefined();
          return rec.error!;
        },
        { timeout: timeoutMs, interval: 5 },
      ),
  };
  const handle = store.watch({
    ...opts,
    onBatch: (b) => rec.batches.push(b),
    onError: (e) => (rec.error = e),
  });
  return rec;
}

export async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with ${code}`).toBeDefined();
  expect(isBeaconError(err) ? err.code : err).toBe(code);
}

function expectContiguous(batches: WatchBatch[]): void {
  for (let i = 1; i < batches.length; i++) expect(batches[i].revision).toBe(batches[i - 1].revision + 1);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Registers the shared contract suite for one driver. */
export function runStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    describe('keys and revisions', () => {
      it('starts empty', async () => {
        expect(await store.get('a')).toBeUndefined();
        const r = await store.range('');
        expect(r.kvs).toEqual([]);
        expect(r.revision).toBe(await store.currentRevision());
      });

      it('bumps the revision by exactly one per write and reports it', async () => {
        const r0 = await store.currentRevision();
        const a = await store.put('a', '1');
        const b = await store.put('b', '2');
        const c = await store.delete('a');
        expect([a.revision, b.revision, c.revision]).toEqual([r0 + 1, r0 + 2, r0 + 3]);
        expect(await store.currentRevision()).toBe(r0 + 3);
      });

      it('gives every concurrent write its own revision, with none skipped', async () => {
        const r0 = await store.currentRevision();
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(`k/${i}`, String(i))));
        const revs = results.map((r) => r.revision).sort((x, y) => x - y);
        expect(revs).toEqual(Array.from({ length: 200 }, (_, i) => r0 + 1 + i));
        expect((await store.range('k/')).kvs).toHaveLength(200);
      });

      it('tracks createRevision, modRevision and version', async () => {
        const p1 = await store.put('x', 'one');
        expect(await store.get('x')).toEqual({ key: 'x', value: 'one', createRevision: p1.revision, modRevision: p1.revision, version: 1, lease: NO_LEASE });
        const p2 = await store.put('x', 'two');
        expect(await store.get('x')).toMatchObject({ value: 'two', createRevision: p1.revision, modRevision: p2.revision, version: 2 });
        await store.delete('x');
        const p3 = await store.put('x', 'three');
        expect(await store.get('x')).toMatchObject({ value: 'three', createRevision: p3.revision, modRevision: p3.revision, version: 1 });
      });

      it('ranges by prefix, sorted by key', async () => {
        for (const k of ['svc/b', 'svc/a', 'svc/c/1', 'svd', 'sv', 'other']) await store.put(k, k.toUpperCase());
        const r = await store.range('svc/');
        expect(r.kvs.map((kv) => kv.key)).toEqual(['svc/a', 'svc/b', 'svc/c/1']);
        expect(r.kvs.map((kv) => kv.value)).toEqual(['SVC/A', 'SVC/B', 'SVC/C/1']);
        expect(r.revision).toBe(await store.currentRevision());
        expect((await store.range('')).kvs.map((kv) => kv.key)).toEqual(['other', 'sv', 'svc/a', 'svc/b', 'svc/c/1', 'svd']);
        expect((await store.range('nothing/')).kvs).toEqual([]);
      });

      it('deletes a key; deleting a missing key changes nothing', async () => {
        await store.put('a', '1');
        const d = await store.delete('a');
        expect(d.deleted).toBe(1);
        expect(await store.get('a')).toBeUndefined();
        const again = await store.delete('a');
        expect(again).toEqual({ revision: d.revision, deleted: 0 });
        expect(await store.currentRevision()).toBe(d.revision);
      });

      it('deletes a prefix in one revision; an empty prefix match changes nothing', async () => {
        await store.put('p/1', 'a');
        await store.put('p/2', 'b');
        await store.put('q/1', 'c');
        const r0 = await store.currentRevision();
        const d = await store.deletePrefix('p/');
        expect(d).toEqual({ revision: r0 + 1, deleted: 2 });
        expect((await store.range('')).kvs.map((kv) => kv.key)).toEqual(['q/1']);
        expect(await store.deletePrefix('p/')).toEqual({ revision: r0 + 1, deleted: 0 });
        expect(await store.currentRevision()).toBe(r0 + 1);
      });

      it('rejects an empty key and changes nothing', async () => {
        const r0 = await store.currentRevision();
        await expectCode(store.put('', 'v'), 'BEACON_ERR_VALIDATION');
        expect(await store.currentRevision()).toBe(r0);
      });
    });

    describe('txn', () => {
      it('creates a key only if absent (version == 0)', async () => {
        const create = (v: string) => store.txn([{ key: 'lock', target: 'version', op: '==', value: 0 }], [{ type: 'put', key: 'lock', value: v }]);
        const first = await create('me');
        expect(first.succeeded).toBe(true);
        const second = await create('you');
        expect(second).toEqual({ succeeded: false, revision: first.revision });
        expect((await store.get('lock'))?.value).toBe('me');
      });

      it('compares and swaps on modRevision, applying the failure branch when it does not hold', async () => {
        const { revision } = await store.put('cfg', 'v1');
        await store.put('cfg', 'v2');
        const stale = await store.txn(
          [{ key: 'cfg', target: 'modRevision', op: '==', value: revision }],
          [{ type: 'put', key: 'cfg', value: 'v3' }],
          [{ type: 'put', key: 'conflicts', value: '1' }],
        );
        expect(stale.succeeded).toBe(false);
        expect(stale.revision).toBe(revision + 2);
        expect((await store.get('cfg'))?.value).toBe('v2');
        expect((await store.get('conflicts'))?.modRevision).toBe(stale.revision);
        const fresh = await store.txn([{ key: 'cfg', target: 'modRevision', op: '==', value: revision + 1 }], [{ type: 'put', key: 'cfg', value: 'v3' }]);
        expect(fresh).toEqual({ succeeded: true, revision: revision + 3 });
        expect((await store.get('cfg'))?.value).toBe('v3');
      });

      it('evaluates value, version and createRevision compares with every operator', async () => {
        const { revision } = await store.put('k', 'm');
        const holds = async (c: Parameters<Store['txn']>[0][number]) => (await store.txn([c], [])).succeeded;
        expect(await holds({ key: 'k', target: 'value', op: '==', value: 'm' })).toBe(true);
        expect(await holds({ key: 'k', target: 'value', op: '!=', value: 'm' })).toBe(false);
        expect(await holds({ key: 'k', target: 'value', op: '<', value: 'n' })).toBe(true);
        expect(await holds({ key: 'k', target: 'value', op: '>', value: 'n' })).toBe(false);
        expect(await holds({ key: 'k', target: 'version', op: '>', value: 0 })).toBe(true);
        expect(await holds({ key: 'k', target: 'createRevision', op: '==', value: revision })).toBe(true);
        expect(await holds({ key: 'k', target: 'modRevision', op: '<', value: revision })).toBe(false);
        expect(await holds({ key: 'missing', target: 'value', op: '==', value: '' })).toBe(true);
        expect(await holds({ key: 'missing', target: 'createRevision', op: '==', value: 0 })).toBe(true);
        expect(await store.currentRevision()).toBe(revision);
      });

      it('applies all ops in one revision and does not bump the revision when nothing changes', async () => {
        await store.put('old/1', 'x');
        await store.put('old/2', 'y');
        await store.put('gone', 'z');
        const r0 = await store.currentRevision();
        const res = await store.txn(
          [],
          [
            { type: 'put', key: 'new/1', value: 'a' },
            { type: 'put', key: 'new/2', value: 'b' },
            { type: 'delete', key: 'gone' },
            { type: 'deletePrefix', prefix: 'old/' },
          ],
        );
        expect(res).toEqual({ succeeded: true, revision: r0 + 1 });
        expect((await store.range('')).kvs.map((kv) => [kv.key, kv.modRevision])).toEqual([
          ['new/1', r0 + 1],
          ['new/2', r0 + 1],
        ]);
        const noop = await store.txn([{ key: 'new/1', target: 'value', op: '==', value: 'a' }], [{ type: 'delete', key: 'absent' }]);
        expect(noop).toEqual({ succeeded: true, revision: r0 + 1 });
        expect(await store.currentRevision()).toBe(r0 + 1);
      });
    });

    describe('leases', () => {
      it('grants, keeps alive and attaches keys', async () => {
        const lease = await store.grant(5);
        expect(lease).not.toBe(NO_LEASE);
        expect(await store.keepAlive(lease)).toBeGreaterThanOrEqual(5);
        await store.put('node/a', '1', { lease });
        expect((await store.get('node/a'))?.lease).toBe(lease);
        await store.put('node/a', '2');
        expect((await store.get('node/a'))?.lease).toBe(NO_LEASE);
        await store.revoke(lease);
        expect((await store.get('node/a'))?.value).toBe('2');
      });

      it('revoking deletes every attached key in one revision; unknown leases are a no-op', async () => {
        const lease = await store.grant(30);
        await store.put('s/1', 'a', { lease });
        await store.txn([], [{ type: 'put', key: 's/2', value: 'b', lease }]);
        await store.put('s/3', 'c');
        const r0 = await store.currentRevision();
        const rec = record(store, { prefix: 's/', fromRevision: r0 + 1 });
        await store.revoke(lease);
        expect(await store.currentRevision()).toBe(r0 + 1);
        expect((await store.range('s/')).kvs.map((kv) => kv.key)).toEqual(['s/3']);
        await rec.untilRevision(r0 + 1);
        expect(rec.batches).toHaveLength(1);
        expect(rec.batches[0].events.map((e) => [e.type, e.kv.key])).toEqual([
          ['delete', 's/1'],
          ['delete', 's/2'],
        ]);
        rec.cancel();
        await expectCode(store.keepAlive(lease), 'BEACON_ERR_LEASE_NOT_FOUND');
        await store.revoke(lease);
        await store.revoke('123456789');
        expect(await store.currentRevision()).toBe(r0 + 1);
      });

      it('rejects a put on an unknown lease and changes nothing', async () => {
        const r0 = await store.currentRevision();
        await expectCode(store.put('k', 'v', { lease: '987654321' }), 'BEACON_ERR_LEASE_NOT_FOUND');
        await expectCode(store.txn([], [{ type: 'put', key: 'k', value: 'v', lease: '987654321' }]), 'BEACON_ERR_LEASE_NOT_FOUND');
        await expectCode(store.keepAlive('987654321'), 'BEACON_ERR_LEASE_NOT_FOUND');
        expect(await store.get('k')).toBeUndefined();
        expect(await store.currentRevision()).toBe(r0);
      });

      it('rejects a TTL below one second', async () => {
        await expectCode(store.grant(0), 'BEACON_ERR_VALIDATION');
      });

      it('deletes the keys of a lease that expires', async () => {
        const lease = await store.grant(1);
        await store.put('eph/1', 'a', { lease });
        await store.put('eph/2', 'b', { lease });
        const r0 = await store.currentRevision();
        await vi.waitFor(async () => expect((await store.range('eph/')).kvs).toEqual([]), { timeout: 8000, interval: 100 });
        expect(await store.currentRevision()).toBe(r0 + 1);
        await expectCode(store.keepAlive(lease), 'BEACON_ERR_LEASE_NOT_FOUND');
      });

      it('keeps a lease that is kept alive past its TTL', async () => {
        const lease = await store.grant(1);
        await store.put('live', 'a', { lease });
        const ttl = await store.keepAlive(lease);
        for (let i = 0; i < 8; i++) {
          await sleep(Math.min(300, (ttl * 1000) / 3));
          await store.keepAlive(lease);
        }
        expect((await store.get('live'))?.lease).toBe(lease);
        await store.revoke(lease);
      });
    });

    describe('watch', () => {
      it('replays from a revision in order without gaps, then goes live', async () => {
        const first = await store.put('w/a', '1');
        await store.put('w/b', '2');
        await store.delete('w/a');
        const rec = record(store, { prefix: '', fromRevision: first.revision });
        const live = await store.put('w/c', '3');
        await rec.untilRevision(live.revision);
        expectContiguous(rec.batches);
        expect(rec.batches.map((b) => b.revision)).toEqual([first.revision, first.revision + 1, first.revision + 2, live.revision]);
        const [put, , del] = rec.batches;
        expect(put.events).toEqual([{ type: 'put', kv: { key: 'w/a', value: '1', createRevision: first.revision, modRevision: first.revision, version: 1, lease: NO_LEASE } }]);
        expect(del.events).toHaveLength(1);
        expect(del.events[0]).toMatchObject({ type: 'delete', kv: { key: 'w/a', value: '', modRevision: first.revision + 2 } });
        expect(rec.error).toBeUndefined();
        rec.cancel();
      });

      it('delivers only matching keys to a prefix watch, one batch per revision', async () => {
        const r0 = await store.currentRevision();
        const rec = record(store, { prefix: 'svc/', fromRevision: r0 + 1 });
        await store.put('svc/a', '1');
        await store.put('node/x', '2');
        await store.txn([], [
          { type: 'put', key: 'svc/b', value: '3' },
          { type: 'put', key: 'node/y', value: '4' },
          { type: 'put', key: 'svc/c', value: '5' },
        ]);
        await rec.untilRevision(r0 + 3);
        expect(rec.batches.map((b) => b.revision)).toEqual([r0 + 1, r0 + 3]);
        expect(rec.batches[1].events.map((e) => e.kv.key)).toEqual(['svc/b', 'svc/c']);
        rec.cancel();
      });

      it('from revision 0 delivers only later changes, and stops after cancel', async () => {
        await store.put('a', 'old');
        const rec = record(store, { prefix: '', fromRevision: 0 });
        await sleep(20);
        const p = await store.put('a', 'new');
        await rec.untilRevision(p.revision);
        expect(rec.batches.map((b) => b.revision)).toEqual([p.revision]);
        expect(rec.batches[0].events[0]).toMatchObject({ type: 'put', kv: { value: 'new', version: 2 } });
        rec.cancel();
        await store.put('a', 'newer');
        await sleep(50);
        expect(rec.batches).toHaveLength(1);
      });

      it('sees every one of many concurrent writes, in order', async () => {
        const r0 = await store.currentRevision();
        const rec = record(store, { prefix: 'c/', fromRevision: r0 + 1 });
        await Promise.all(Array.from({ length: 300 }, (_, i) => store.put(`c/${i % 50}`, String(i))));
        await rec.untilRevision(r0 + 300);
        expect(rec.batches).toHaveLength(300);
        expectContiguous(rec.batches);
        rec.cancel();
      });

      it('answers BEACON_ERR_COMPACTED for a compacted revision, and works just above it', async () => {
        const a = await store.put('h', '1');
        const b = await store.put('h', '2');
        await store.put('h', '3');
        await store.compact(b.revision);
        expect((await store.stats()).compactedRevision).toBeGreaterThanOrEqual(b.revision);
        const old = record(store, { prefix: '', fromRevision: a.revision });
        const err = await old.untilError();
        expect(isBeaconError(err, 'BEACON_ERR_COMPACTED')).toBe(true);
        const ok = record(store, { prefix: '', fromRevision: b.revision + 1 });
        await ok.untilRevision(b.revision + 1);
        expect(ok.batches[0].events[0].kv.value).toBe('3');
        ok.cancel();
      });
    });

    describe('lifecycle', () => {
      it('reports stats', async () => {
        const lease = await store.grant(10);
        await store.put('a', '1', { lease });
        await store.put('b', '2');
        const s = await store.stats();
        expect(s).toMatchObject({ driver: store.driver, revision: await store.currentRevision(), keys: 2, leases: 1 });
        expect(s.compactedRevision).toBeLessThan(s.revision);
      });

      it('fails every call with BEACON_ERR_STORE_CLOSED after close', async () => {
        await store.put('a', '1');
        await store.close();
        await expectCode(store.get('a'), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.range(''), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.put('a', '2'), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.delete('a'), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.txn([], []), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.grant(5), 'BEACON_ERR_STORE_CLOSED');
        await expectCode(store.currentRevision(), 'BEACON_ERR_STORE_CLOSED');
        const rec = record(store, { prefix: '', fromRevision: 0 });
        expect(isBeaconError(await rec.untilError(), 'BEACON_ERR_STORE_CLOSED')).toBe(true);
      });

      it('keeps data, revision and leases across a reopen', async (ctx) => {
        if (opened.reopen === undefined) ctx.skip();
        const lease = await store.grant(30);
        await store.put('keep/1', 'a');
        await store.put('keep/2', 'b', { lease });
        const last = await store.put('keep/1', 'c');
        await store.close();
        const again = await opened.reopen!();
        expect(await again.currentRevision()).toBe(last.revision);
        expect((await again.range('keep/')).kvs).toEqual([
          { key: 'keep/1', value: 'c', createRevision: last.revision - 2, modRevision: last.revision, version: 2, lease: NO_LEASE },
          { key: 'keep/2', value: 'b', createRevision: last.revision - 1, modRevision: last.revision - 1, version: 1, lease },
        ]);
        expect(await again.keepAlive(lease)).toBeGreaterThanOrEqual(30);
        expect((await again.put('keep/3', 'd')).revision).toBe(last.revision + 1);
        await again.revoke(lease);
        expect(await again.get('keep/2')).toBeUndefined();
        await again.close();
      });
    });
  });
}
