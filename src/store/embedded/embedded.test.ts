import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isBeaconError } from '../../errors/index.js';
import { expectCode, record, runStoreContract, startNeighbour } from '../contract.test-suite.js';
import { namespaced, openStore, type Store } from '../index.js';
import { EmbeddedStore, type EmbeddedStoreOptions } from './index.js';
import { SqliteFile } from './sqlite-file.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-store-'));
  dirs.push(dir);
  return dir;
}

runStoreContract('embedded', async () => {
  const dataDir = tempDir();
  const opened: EmbeddedStore[] = [];
  const openIt = async (): Promise<EmbeddedStore> => {
    const s = await EmbeddedStore.open({ dataDir });
    opened.push(s);
    return s;
  };
  return {
    store: await openIt(),
    exclusive: true,
    reopen: openIt,
    cleanup: async () => {
      for (const s of opened) await s.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

runStoreContract('embedded, namespaced view', async () => {
  const dataDir = tempDir();
  const opened: EmbeddedStore[] = [];
  const openIt = async (): Promise<Store> => {
    const s = await EmbeddedStore.open({ dataDir });
    opened.push(s);
    return namespaced(s, 'contract/', { closeStore: true });
  };
  return {
    store: await openIt(),
    exclusive: true,
    reopen: openIt,
    cleanup: async () => {
      for (const s of opened) await s.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

/** Keys the shared store holds besides the suite's namespace; none of them may change. */
const OUTSIDE = ['contract', 'contract/', 'contract-other/x', 'contract0/x', 'contracts/x', 'a', '\uFFFF'];

runStoreContract(
  'embedded, namespaced view on a shared store with another writer',
  async () => {
    const dataDir = tempDir();
    const inner = await EmbeddedStore.open({ dataDir });
    const lease = await inner.grant(300);
    for (const key of OUTSIDE) await inner.put(key, `outside:${key}`, key === 'contract' ? { lease } : {});
    const neighbour = await startNeighbour(namespaced(inner, 'neighbour/'), '');
    const view = namespaced(inner, 'contract/');
    return {
      store: view,
      cleanup: async () => {
        try {
          await neighbour.stop();
          await view.close();
          const inNamespace = (key: string): boolean => key.startsWith('neighbour/') || (key.startsWith('contract/') && key !== 'contract/');
          const outside = (await inner.range('')).kvs.filter((kv) => !inNamespace(kv.key));
          expect(outside.map((kv) => [kv.key, kv.value])).toEqual([...OUTSIDE].sort().map((key) => [key, `outside:${key}`]));
          expect(neighbour.writes).toBeGreaterThan(0);
        } finally {
          await inner.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  },
  { reopen: false },
);

describe('embedded store', () => {
  const open: EmbeddedStore[] = [];
  const openAt = async (dataDir: string, opts: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> => {
    const s = await EmbeddedStore.open({ dataDir, ...opts });
    open.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps every acknowledged write across a restart; history before it is compacted', async () => {
    const dir = tempDir();
    const a = await openAt(dir);
    const lease = await a.grant(60);
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => a.put(`k/${String(i).padStart(4, '0')}`, `v${i} ✓ ${'x'.repeat(i % 50)}`, i % 10 === 0 ? { lease } : {})),
    );
    await a.deletePrefix('k/09');
    await a.txn([], [{ type: 'put', key: 'k/0001', value: 'replaced' }]);
    const before = await a.range('');
    await a.close();

    const b = await openAt(dir);
    expect(await b.range('')).toEqual(before);
    expect(before.kvs).toHaveLength(900);
    expect((await b.get('k/0010'))?.lease).toBe(lease);
    expect((await b.stats()).compactedRevision).toBe(before.revision);
    const old = record(b, { prefix: '', fromRevision: before.revision });
    expect(isBeaconError(await old.untilError(), 'BEACON_ERR_COMPACTED')).toBe(true);
    const next = record(b, { prefix: '', fromRevision: before.revision + 1 });
    const p = await b.put('after', 'restart');
    expect(p.revision).toBe(before.revision + 1);
    await next.untilRevision(p.revision);
    next.cancel();
  });

  it('restarts a reloaded lease with its full TTL', async () => {
    const dir = tempDir();
    const a = await openAt(dir);
    const lease = await a.grant(1);
    await a.put('eph', 'x', { lease });
    await a.close();
    await new Promise((r) => setTimeout(r, 1300));
    const b = await openAt(dir);
    expect((await b.get('eph'))?.lease).toBe(lease);
    await vi.waitFor(async () => expect(await b.get('eph')).toBeUndefined(), { timeout: 4000, interval: 50 });
    expect(b.counters().leaseExpiries).toBe(1);
    const c = await b.grant(5);
    expect(Number(c)).toBeGreaterThan(Number(lease));
  });

  it('does not grow on disk under 20,000 overwrites of the same keys', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    const value = (i: number): string => `${i}:${'v'.repeat(1000)}`;
    await Promise.all(Array.from({ length: 100 }, (_, k) => s.put(`key/${k}`, value(0))));
    await s.close();
    const baseline = statSync(join(dir, 'beacon.db')).size;

    const t = await openAt(dir);
    let peak = 0;
    for (let round = 0; round < 100; round++) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => t.put(`key/${i % 100}`, value(round * 200 + i))));
      peak = Math.max(peak, t.counters().diskBytes);
    }
    expect((await t.get('key/99'))?.version).toBe(201);
    // 20 MB were written; the WAL is checkpointed and capped, the database updated in place.
    expect(peak).toBeLessThan(10 * 1024 * 1024);
    await t.close();
    expect(statSync(join(dir, 'beacon.db')).size).toBeLessThanOrEqual(baseline + 64 * 1024);
    expect(statSync(join(dir, 'beacon.db-wal'), { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  });

  it('refuses a second open of the same data dir while the first holds it', async () => {
    const dir = tempDir();
    const first = await openAt(dir);
    await first.put('a', '1');
    const err = await EmbeddedStore.open({ dataDir: dir, lockTimeoutMs: 50 }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STARTUP')).toBe(true);
    expect((err as Error).message).toContain(join(dir, 'beacon.db'));
    expect((err as Error).message).toMatch(/locked by another process/);
    expect((await first.put('a', '2')).revision).toBe(3);
    await first.close();
    const second = await openAt(dir);
    expect((await second.get('a'))?.value).toBe('2');
  });

  it('fails to open with BEACON_ERR_STARTUP naming the path', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'not a dir');
    const notDir = join(dir, 'file', 'data');
    const e1 = await EmbeddedStore.open({ dataDir: notDir }).catch((e: unknown) => e);
    expect(isBeaconError(e1, 'BEACON_ERR_STARTUP')).toBe(true);
    expect((e1 as Error).message).toContain(notDir);

    const junk = join(dir, 'junk');
    mkdirSync(junk);
    writeFileSync(join(junk, 'beacon.db'), 'this is not an SQLite database, just some text. '.repeat(100));
    const e2 = await EmbeddedStore.open({ dataDir: junk }).catch((e: unknown) => e);
    expect(isBeaconError(e2, 'BEACON_ERR_STARTUP')).toBe(true);
    expect((e2 as Error).message).toContain(join(junk, 'beacon.db'));
  });

  // Node 20's recursive mkdir loops forever on ENOENT from an existing parent (/proc); the store must fail instead.
  it.runIf(process.platform === 'linux')(
    'fails fast on a data dir that cannot exist (below /proc)',
    async () => {
      const bad = `/proc/beacon-${process.pid}/data`;
      const err = await EmbeddedStore.open({ dataDir: bad }).catch((e: unknown) => e);
      expect(isBeaconError(err, 'BEACON_ERR_STARTUP')).toBe(true);
      expect((err as Error).message).toContain(`cannot create the data directory ${bad}`);
    },
    5000,
  );

  it('creates a nested data dir that does not exist yet', async () => {
    const dir = join(tempDir(), 'a', 'b', 'c');
    const s = await openAt(dir);
    await s.put('k', 'v');
    expect(statSync(join(dir, 'beacon.db')).isFile()).toBe(true);
  });

  it('commits every write of one tick in one disk transaction', async () => {
    const s = await openAt(tempDir());
    await s.put('warm', 'up');
    const before = s.counters();
    await Promise.all(Array.from({ length: 500 }, (_, i) => s.put(`g/${i}`, 'x')));
    const after = s.counters();
    expect(after.commits - before.commits).toBe(1);
    expect(after.revisions - before.revisions).toBe(500);
    expect(after.commitBatchMax).toBe(500);
  });

  it('shows readers and watchers only committed state', async () => {
    const s = await openAt(tempDir());
    await s.put('k', 'old');
    const seen: number[] = [];
    const h = s.watch({
      prefix: '',
      fromRevision: 0,
      onBatch: () => seen.push(s.counters().commits),
      onError: () => undefined,
    });
    const commits = s.counters().commits;
    const pending = s.put('k', 'new');
    expect((await s.get('k'))?.value).toBe('old');
    expect(seen).toEqual([]);
    await pending;
    expect((await s.get('k'))?.value).toBe('new');
    expect(seen).toEqual([commits + 1]);
    h.cancel();
  });

  it('keeps a bounded history; older watches answer BEACON_ERR_COMPACTED', async () => {
    const s = await openAt(tempDir(), { historyRevisions: 100 });
    const first = await s.put('h', '0');
    for (let i = 1; i < 300; i++) await s.put('h', String(i));
    const c = s.counters();
    expect(c.historyRevisions).toBe(100);
    const { compactedRevision, revision } = await s.stats();
    expect(compactedRevision).toBe(revision - 100);
    const old = record(s, { prefix: '', fromRevision: first.revision });
    expect(isBeaconError(await old.untilError(), 'BEACON_ERR_COMPACTED')).toBe(true);
    const recent = record(s, { prefix: 'h', fromRevision: compactedRevision + 1 });
    await recent.untilRevision(revision);
    expect(recent.batches).toHaveLength(100);
    recent.cancel();
  });

  it('reads values from disk: get, range, value compares and prevKv after a restart', async () => {
    const dir = tempDir();
    const a = await openAt(dir);
    await a.put('v/a', 'alpha');
    await a.put('v/b', 'beta');
    await a.close();

    const b = await openAt(dir);
    expect(await b.get('v/a')).toMatchObject({ key: 'v/a', value: 'alpha', version: 1 });
    expect((await b.range('v/')).kvs.map((kv) => kv.value)).toEqual(['alpha', 'beta']);
    const rec = record(b, { prefix: 'v/', fromRevision: 0 });
    const miss = await b.txn([{ key: 'v/a', target: 'value', op: '==', value: 'other' }], [{ type: 'delete', key: 'v/a' }]);
    expect(miss.succeeded).toBe(false);
    const hit = await b.txn(
      [{ key: 'v/a', target: 'value', op: '==', value: 'alpha' }],
      [
        { type: 'put', key: 'v/a', value: 'alpha2' },
        { type: 'delete', key: 'v/b' },
      ],
    );
    expect(hit.succeeded).toBe(true);
    await rec.untilRevision(hit.revision);
    const [put, del] = rec.batches.at(-1)!.events;
    expect(put).toMatchObject({ type: 'put', kv: { value: 'alpha2', version: 2 }, prevKv: { key: 'v/a', value: 'alpha', version: 1 } });
    expect(del).toMatchObject({ type: 'delete', kv: { key: 'v/b', value: '' }, prevKv: { key: 'v/b', value: 'beta' } });
    rec.cancel();
  });

  it('lets a txn value compare and prevKv see a write staged in the same tick', async () => {
    const s = await openAt(tempDir());
    await s.put('k', 'one');
    const rec = record(s, { prefix: 'k', fromRevision: 0 });
    const first = s.put('k', 'two');
    const second = s.txn([{ key: 'k', target: 'value', op: '==', value: 'two' }], [{ type: 'put', key: 'k', value: 'three' }]);
    expect((await second).succeeded).toBe(true);
    const { revision } = await second;
    expect((await first).revision).toBe(revision - 1);
    await rec.untilRevision(revision);
    expect(rec.batches.map((b) => [b.events[0].kv.value, b.events[0].prevKv?.value])).toEqual([
      ['two', 'one'],
      ['three', 'two'],
    ]);
    expect((await s.get('k'))?.value).toBe('three');
    rec.cancel();
  });

  it('ranges in JavaScript string order, as the key space sorts, also where SQLite orders bytes differently', async () => {
    const s = await openAt(tempDir());
    const keys = ['o/\u{10000}', 'o/\uE001', 'o/a', 'o/\uFFFF'];
    await Promise.all(keys.map((k) => s.put(k, k)));
    const { kvs } = await s.range('o/');
    expect(kvs.map((kv) => kv.key)).toEqual([...keys].sort());
    expect(kvs.map((kv) => kv.value)).toEqual([...keys].sort());
  });

  it('a failed value read rejects the write with BEACON_ERR_STORE_UNAVAILABLE and changes nothing', async () => {
    const s = await openAt(tempDir());
    await s.put('f/a', '1');
    const { revision } = await s.put('f/b', '2');
    const spy = vi.spyOn(SqliteFile.prototype, 'value').mockImplementation(() => {
      throw new Error('disk I/O error');
    });
    try {
      await expectCode(s.deletePrefix('f/'), 'BEACON_ERR_STORE_UNAVAILABLE');
      await expectCode(
        s.txn(
          [],
          [
            { type: 'put', key: 'f/c', value: '3' },
            { type: 'delete', key: 'f/a' },
          ],
        ),
        'BEACON_ERR_STORE_UNAVAILABLE',
      );
      await expectCode(s.get('f/a'), 'BEACON_ERR_STORE_UNAVAILABLE');
    } finally {
      spy.mockRestore();
    }
    expect(await s.currentRevision()).toBe(revision);
    expect((await s.range('f/')).kvs.map((kv) => kv.value)).toEqual(['1', '2']);
    expect((await s.put('f/c', '3')).revision).toBe(revision + 1);
  });

  it('rejects txns that write one key twice', async () => {
    const s = await openAt(tempDir());
    await expectCode(
      s.txn(
        [],
        [
          { type: 'put', key: 'a', value: '1' },
          { type: 'delete', key: 'a' },
        ],
      ),
      'BEACON_ERR_VALIDATION',
    );
    await expectCode(
      s.txn(
        [],
        [
          { type: 'put', key: 'p/a', value: '1' },
          { type: 'deletePrefix', prefix: 'p/' },
        ],
      ),
      'BEACON_ERR_VALIDATION',
    );
    expect((await s.stats()).keys).toBe(0);
  });
});

describe('openStore', () => {
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('opens the embedded driver from "embedded" plus a data dir, or an embedded:/// URL', async () => {
    const dir = tempDir();
    const a = await openStore('embedded', { dataDir: join(dir, 'nested', 'data') });
    expect(a.driver).toBe('embedded');
    await a.put('x', '1');
    await a.close();
    const b = await openStore(`embedded://${join(dir, 'nested', 'data')}`);
    expect((await b.get('x'))?.value).toBe('1');
    await b.close();
  });

  it('rejects URLs it cannot use with BEACON_ERR_CONFIG', async () => {
    await expectCode(openStore('embedded'), 'BEACON_ERR_CONFIG');
    await expectCode(openStore('embedded://host/dir'), 'BEACON_ERR_CONFIG');
    await expectCode(openStore('embedded://'), 'BEACON_ERR_CONFIG');
    await expectCode(openStore('postgres://localhost'), 'BEACON_ERR_CONFIG');
    // TLS files belong to an etcd+https:// store only; an unreadable one is named.
    const plain = await openStore('etcd://127.0.0.1:2379', { tls: { caFile: '/ca.pem' } }).catch((e: unknown) => e);
    expect(isBeaconError(plain, 'BEACON_ERR_CONFIG')).toBe(true);
    expect((plain as Error).message).toMatch(/need an etcd\+https:\/\/ store URL/);
    const missing = await openStore('etcd+https://127.0.0.1:2379', { tls: { caFile: '/nonexistent/ca.pem' } }).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/cannot read storeCa \/nonexistent\/ca\.pem: ENOENT/);
    const half = await openStore('etcd+https://127.0.0.1:2379', { tls: { certFile: '/c.pem' } }).catch((e: unknown) => e);
    expect((half as Error).message).toMatch(/needs both --store-cert and --store-key/);
  });
});
