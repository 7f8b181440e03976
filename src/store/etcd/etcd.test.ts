/**
 * The etcd driver against a real three-member etcd cluster (test/helpers/etcd-cluster.ts), one
 * cluster for this file: the shared contract suite, each test in a namespace of its own on a
 * cluster the other tests also use, then what only this driver does — its URL, nested txns for
 * value compares on missing keys, compaction seen by another client, and faults: members killed
 * under a watch, the leader killed under writes, the whole cluster paused and stopped, and
 * etcd's NOSPACE alarm (on a small single-member cluster of its own).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from '../../../test/helpers/etcd-cluster.js';
import { isBeaconError } from '../../errors/index.js';
import { expectCode, record, sleep } from '../contract-helpers.test-suite.js';
import { runStoreContract } from '../contract.test-suite.js';
import { silentLogger } from '../logger.js';
import { storeCounters } from '../counters.js';
import { storeHealth, storeLastContact } from '../health.js';
import { namespaced } from '../namespace.js';
import { openStore } from '../open-store.js';
import type { Store } from '../types.js';
import { EtcdStore, type EtcdStoreOptions } from './etcd-store.js';
import { parseEtcdUrl } from './etcd-url.js';

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcdCluster();
});

afterAll(async () => {
  await cluster?.cleanup();
});

runStoreContract('etcd, a namespace of a shared three-member cluster', async () => {
  const prefix = `contract-${randomUUID().slice(0, 8)}/`;
  const opened: Store[] = [];
  const openIt = async (): Promise<Store> => {
    const view = namespaced(await EtcdStore.open({ endpoints: parseEtcdUrl(cluster.url) }), prefix, { closeStore: true });
    opened.push(view);
    return view;
  };
  return {
    store: await openIt(),
    reopen: openIt,
    cleanup: async () => {
      for (const s of opened) await s.close();
    },
  };
});

describe('etcd store URL', () => {
  it('takes etcd://host:port[,host:port…], the port defaulting to 2379', () => {
    expect(parseEtcdUrl('etcd://127.0.0.1:2379,127.0.0.1:22379')).toEqual(['127.0.0.1:2379', '127.0.0.1:22379']);
    expect(parseEtcdUrl('ETCD://etcd-1.internal,[::1]:32379,[fe80::1]')).toEqual(['etcd-1.internal:2379', '[::1]:32379', '[fe80::1]:2379']);
  });

  it.each([
    ['etcd://', /names no etcd member/],
    ['etcd://a:1,,b:2', /names no etcd member/],
    ['etcd://a:0', /port from 1 to 65535/],
    ['etcd://a:99999', /port from 1 to 65535/],
    ['etcd://a:1/beacon', /no path, query, user or spaces/],
    ['etcd://user@a:1', /no path, query, user or spaces/],
    ['etcd://a:1,a:1', /names the member a:1 twice/],
    ['etcd://a b:1', /no path, query, user or spaces/],
    ['etcd+https://', /names no etcd member/],
    ['etcd+foo://a:2379', /unknown scheme/],
  ])('refuses %s with BEACON_ERR_CONFIG naming the store field', async (url, message) => {
    const err = await openStore(url).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_CONFIG')).toBe(true);
    expect((err as { field?: string }).field).toBe('store');
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(JSON.stringify(url));
  });

  it('openStore opens the cluster, as a namespaced view with a prefix', async () => {
    const prefix = `open-${randomUUID().slice(0, 8)}/`;
    const store = await openStore(cluster.url, { prefix });
    const raw = await openStore(cluster.url);
    try {
      expect(store.driver).toBe('etcd');
      // The view reports the driver's health, last contact and counters.
      expect(storeHealth(store).writable).toBe(true);
      expect(storeLastContact(store)).toBeGreaterThan(0);
      expect(storeCounters(store)?.writable).toBe(1);
      await store.put('k', 'v');
      expect(storeCounters(store)?.commits).toBe(1);
      expect((await raw.get(`${prefix}k`))?.value).toBe('v');
      expect((await store.range('')).kvs.map((kv) => kv.key)).toEqual(['k']);
      await raw.deletePrefix(prefix);
    } finally {
      await store.close();
      await raw.close();
    }
    await expectCode(store.get('k'), 'BEACON_ERR_STORE_CLOSED');
  });
});

describe('etcd driver', () => {
  const stores: EtcdStore[] = [];
  const open = async (opts: Partial<EtcdStoreOptions> = {}): Promise<EtcdStore> => {
    const s = await EtcdStore.open({ endpoints: parseEtcdUrl(cluster.url), ...opts });
    stores.push(s);
    return s;
  };
  let ns: string;
  const k = (key: string): string => ns + key;
  /** A write retried the way a caller does on a retryable error, bounded. */
  const retried = async <T>(write: () => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await write();
      } catch (err) {
        if (!isBeaconError(err) || !err.retryable || i >= 100) throw err;
        await sleep(100 + Math.random() * 100);
      }
    }
  };

  beforeAll(() => {
    ns = `driver-${randomUUID().slice(0, 8)}/`;
  });
  afterEach(async () => {
    // Every member back, whatever a test did, before the next one.
    for (let i = 0; i < cluster.size; i++) cluster.resumeMember(i);
    for (let i = 0; i < cluster.size; i++) await cluster.startMember(i, { wait: false });
    await cluster.waitReady();
    for (const s of stores.splice(0)) {
      await s.deletePrefix(ns).catch(() => undefined);
      await s.close();
    }
  });

  it('applies a value compare on a missing key as the contract says (the value is ""), ops included', async () => {
    const s = await open();
    const ifEmpty = (key: string) =>
      s.txn([{ key: k(key), target: 'value', op: '==', value: '' }], [{ type: 'put', key: k('then'), value: key }], [{ type: 'delete', key: k('then') }]);
    expect((await ifEmpty('missing')).succeeded).toBe(true);
    expect((await s.get(k('then')))?.value).toBe('missing');
    await s.put(k('full'), 'x');
    const miss = await ifEmpty('full');
    expect(miss.succeeded).toBe(false);
    expect(await s.get(k('then'))).toBeUndefined();
    await s.put(k('empty'), '');
    expect((await ifEmpty('empty')).succeeded).toBe(true);
    // Two such compares and a plain one: every branch ends in the same ops.
    const both = await s.txn(
      [
        { key: k('missing'), target: 'value', op: '!=', value: 'zzz' },
        { key: k('full'), target: 'value', op: '<', value: 'y' },
        { key: k('full'), target: 'version', op: '==', value: 1 },
      ],
      [{ type: 'put', key: k('both'), value: 'yes' }],
      [{ type: 'put', key: k('both'), value: 'no' }],
    );
    expect(both.succeeded).toBe(true);
    expect((await s.get(k('both')))?.value).toBe('yes');
    expect((await s.get(k('both')))?.modRevision).toBe(both.revision);
  });

  it('a compare-only txn sees the write acknowledged just before it, whichever member answers', async () => {
    // etcd answers a txn without ops from the local member unless the driver makes it a quorum read.
    const s = await open();
    const stale: number[] = [];
    for (let i = 0; i < 100; i++) {
      const { revision } = await s.put(k('seen'), String(i));
      const r = await s.txn([{ key: k('seen'), target: 'value', op: '==', value: String(i) }], []);
      if (!r.succeeded || r.revision < revision) stale.push(i);
    }
    expect(stale).toEqual([]);
  });

  it('reads a range larger than one page whole, at one revision, while another writer changes it', async () => {
    const s = await open();
    const key = (i: number): string => k(`big/${String(i).padStart(5, '0')}`);
    for (let t = 0; t < 110; t++) {
      await s.txn(
        [],
        Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: key(t * 100 + j), value: 'v0' })),
      );
    }
    let stop = false;
    const writer = (async () => {
      for (let n = 1; !stop; n++) await s.put(key((n * 7919) % 11_000), `v${n}`);
    })();
    try {
      const { kvs, revision } = await s.range(k('big/'));
      expect(kvs).toHaveLength(11_000);
      expect(kvs.map((kv) => kv.key)).toEqual(Array.from({ length: 11_000 }, (_, i) => key(i)));
      for (const kv of kvs) expect(kv.modRevision).toBeLessThanOrEqual(revision);
      expect(await s.countKeys(k('big/'))).toBe(11_000);
    } finally {
      stop = true;
      await writer;
    }
  });

  it('finds the compacted revision another client made, and a watch from below it gets BEACON_ERR_COMPACTED', async () => {
    const a = await open();
    const b = await open();
    const first = await a.put(k('h'), '1');
    const second = await a.put(k('h'), '2');
    await a.put(k('h'), '3');
    await a.compact(second.revision);
    expect((await b.stats()).compactedRevision).toBeGreaterThanOrEqual(second.revision);
    const old = record(b, { prefix: ns, fromRevision: first.revision });
    const err = await old.untilError();
    expect(isBeaconError(err, 'BEACON_ERR_COMPACTED')).toBe(true);
    expect(err.message).toMatch(/re-list/);
    // Compacting again to a revision already compacted is a no-op.
    await a.compact(first.revision);
  });

  it('a watch resumes across every member killed and restarted in turn: each revision once, in order', async () => {
    const resumed: unknown[] = [];
    const logger = { ...silentLogger, info: (obj: unknown, msg?: string) => msg?.startsWith('etcd watch stream lost') && resumed.push(obj) };
    const s = await open({ requestTimeoutMs: 2000, logger });
    const r0 = await s.currentRevision();
    const rec = record(s, { prefix: ns, fromRevision: r0 + 1 });
    const acked: { revision: number; value: string }[] = [];
    let stop = false;
    const writer = (async () => {
      for (let n = 0; !stop; n++) {
        try {
          const { revision } = await s.put(k(`w/${n % 4}`), String(n));
          acked.push({ revision, value: String(n) });
        } catch (err) {
          if (!isBeaconError(err) || !err.retryable) throw err;
          await sleep(50);
        }
        await sleep(5);
      }
    })();
    for (let i = 0; i < cluster.size; i++) {
      await sleep(200);
      await cluster.stopMember(i);
      await sleep(300);
      await cluster.startMember(i);
    }
    await vi.waitFor(() => expect(acked.length).toBeGreaterThan(20), { timeout: 20_000, interval: 50 });
    stop = true;
    await writer;
    await rec.untilRevision(acked.at(-1)!.revision, 30_000);
    expect(rec.error).toBeUndefined();
    // The watch's own stream went down with its member at least once, and was resumed.
    expect(resumed.length).toBeGreaterThan(0);
    const revs = rec.batches.map((b) => b.revision);
    for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1]);
    const seen = new Map(rec.batches.map((b) => [b.revision, b.events[0].kv.value]));
    for (const a of acked) expect(seen.get(a.revision), `revision ${a.revision}`).toBe(a.value);
    rec.cancel();
  });

  it('the leader killed: a write the caller retries succeeds once etcd has elected another', async () => {
    const s = await open({ requestTimeoutMs: 2000 });
    await s.put(k('before'), '1');
    const leader = await cluster.leaderIndex();
    await cluster.stopMember(leader);
    const { revision } = await retried(() => s.put(k('after'), '2'));
    expect(await s.get(k('after'))).toMatchObject({ value: '2', modRevision: revision });
    expect(await cluster.leaderIndex()).not.toBe(leader);
  });

  it('every member paused: calls fail BEACON_ERR_STORE_UNAVAILABLE within their deadline, health turns unwritable, then writable once etcd answers', async () => {
    const s = await open({ requestTimeoutMs: 1000, probeIntervalMs: 200 });
    const changes: boolean[] = [];
    s.onHealthChange((h) => changes.push(h.writable));
    await s.put(k('a'), '1');
    for (let i = 0; i < cluster.size; i++) cluster.pauseMember(i);
    const err = await s.get(k('a')).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    expect((err as Error).message).toContain(s.endpoints[0]);
    await vi.waitFor(() => expect(s.health().writable).toBe(false), { timeout: 10_000, interval: 20 });
    expect(s.health().lastError).toMatch(/cannot reach etcd at/);
    for (let i = 0; i < cluster.size; i++) cluster.resumeMember(i);
    await vi.waitFor(() => expect(s.health().writable).toBe(true), { timeout: 20_000, interval: 20 });
    expect(changes).toEqual([false, true]);
    expect((await retried(() => s.get(k('a'))))?.value).toBe('1');
  });

  it('every member stopped: writes fail BEACON_ERR_STORE_UNAVAILABLE naming the endpoints, last contact stands still; back: writable, and a watch carries on', async () => {
    const s = await open({ requestTimeoutMs: 1000, probeIntervalMs: 200 });
    const first = await s.put(k('a'), '1');
    const rec = record(s, { prefix: ns, fromRevision: first.revision });
    await rec.untilRevision(first.revision);
    await vi.waitFor(() => expect(Date.now() - s.lastContact()).toBeLessThan(2000), { timeout: 10_000, interval: 20 });
    await cluster.stopAll();
    const err = await s.put(k('b'), '2').catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
    for (const e of s.endpoints) expect((err as Error).message).toContain(e);
    await vi.waitFor(() => expect(s.health().writable).toBe(false), { timeout: 10_000, interval: 20 });
    const frozen = s.lastContact();
    await sleep(600);
    expect(s.lastContact()).toBe(frozen);
    for (let i = 0; i < cluster.size; i++) await cluster.startMember(i, { wait: false });
    await cluster.waitReady();
    await vi.waitFor(() => expect(s.health().writable).toBe(true), { timeout: 20_000, interval: 20 });
    expect(s.lastContact()).toBeGreaterThan(frozen);
    const second = await retried(() => s.put(k('b'), '2'));
    await rec.untilRevision(second.revision, 20_000);
    expect(rec.batches.map((b) => b.revision)).toEqual([first.revision, second.revision]);
    expect(rec.error).toBeUndefined();
    rec.cancel();
  });

  it('fails to open BEACON_ERR_STORE_UNAVAILABLE, naming the endpoints, when no member answers', async () => {
    const err = await EtcdStore.open({ endpoints: ['127.0.0.1:1'], requestTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toMatch(/cannot open the etcd store: .*cannot reach etcd at 127\.0\.0\.1:1/);
  });
});

describe('etcd out of space', () => {
  let small: EtcdCluster;
  beforeAll(async () => {
    small = await startEtcdCluster({ members: 1, quotaBackendBytes: 512 * 1024 });
  });
  afterAll(async () => {
    await small?.cleanup();
  });

  it('refuses writes with a clear error while the NOSPACE alarm is up, reports it in health, and takes writes again once it is disarmed', async () => {
    const s = await EtcdStore.open({ endpoints: parseEtcdUrl(small.url), requestTimeoutMs: 2000, probeIntervalMs: 200 });
    try {
      const big = 'x'.repeat(64 * 1024);
      let refused: unknown;
      for (let i = 0; i < 200 && refused === undefined; i++)
        refused = await s.put(`fill/${i % 4}`, big).then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isBeaconError(refused, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
      expect((refused as Error).message).toMatch(/etcd is out of space \(its NOSPACE alarm is raised/);
      await vi.waitFor(() => expect(s.health().writable).toBe(false), { timeout: 5000, interval: 20 });
      expect(s.health().lastError).toMatch(/NOSPACE/);
      // Reads still work, and do not make the store look writable.
      expect((await s.range('fill/')).kvs.length).toBeGreaterThan(0);
      await sleep(500);
      expect(s.health().writable).toBe(false);
      expect(s.counters().writable).toBe(0);
      // What an operator does: compact, defragment, disarm.
      const { revision } = await s.range('');
      await small.call('/v3/kv/compaction', { revision: String(revision), physical: true });
      await small.call('/v3/maintenance/defragment', {});
      const alarms = await small.call('/v3/maintenance/alarm', { action: 'GET' });
      for (const a of (alarms.alarms ?? []) as { memberID: string; alarm: string }[]) {
        await small.call('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: a.memberID, alarm: a.alarm });
      }
      await vi.waitFor(() => expect(s.health().writable).toBe(true), { timeout: 10_000, interval: 20 });
      await s.deletePrefix('fill/');
      expect((await s.put('after', 'ok')).revision).toBeGreaterThan(revision);
    } finally {
      await s.close();
    }
  });
});
