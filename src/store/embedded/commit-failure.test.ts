/**
 * A commit that fails (disk full, I/O error) refuses its writes, leaves memory as it was on
 * disk, and the store takes writes again by itself once a commit succeeds. The disk fault is
 * simulated here by making the database's commit throw as SQLite does on a full disk; the
 * real thing (a full tmpfs) is test/robustness/store-disk-full.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isBeaconError } from '../../errors/index.js';
import { record } from '../contract.test-suite.js';
import { namespaced, storeHealth, type StoreHealth } from '../index.js';
import { EmbeddedStore } from './index.js';
import { SqliteFile } from './sqlite-file.js';

const dirs: string[] = [];
const open: EmbeddedStore[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fresh(): Promise<{ store: EmbeddedStore; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-commit-fail-'));
  dirs.push(dir);
  const store = await EmbeddedStore.open({ dataDir: dir });
  open.push(store);
  return { store, dir };
}

const diskFull = (): Error => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

/** Makes the database's commits throw like a full disk until the returned function is called. */
function fillDisk(): () => void {
  const spy = vi.spyOn(SqliteFile.prototype, 'commit').mockImplementation(() => {
    throw diskFull();
  });
  return () => spy.mockRestore();
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('a failed commit', () => {
  it('refuses every write of the commit, rolls memory back to what is on disk, and recovers by itself', async () => {
    const { store: s, dir } = await fresh();
    await s.put('a', '1');
    const lease = await s.grant(60);
    await s.put('leased', 'x', { lease });
    const before = { range: await s.range(''), stats: await s.stats() };
    const watched = record(s, { prefix: '', fromRevision: 0 });
    const changes: StoreHealth[] = [];
    s.onHealthChange((h) => changes.push(h));

    const freeDisk = fillDisk();
    const results = await Promise.all([
      rejection(s.put('a', '2')),
      rejection(s.put('b', '1')),
      rejection(
        s.txn(
          [{ key: 'a', target: 'version', op: '==', value: 1 }],
          [
            { type: 'put', key: 'a', value: 'txn' },
            { type: 'delete', key: 'leased' },
          ],
        ),
      ),
      rejection(s.deletePrefix('')),
      rejection(s.revoke(lease)),
      rejection(s.grant(30)),
    ]);
    for (const err of results) {
      expect(isBeaconError(err, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
      expect((err as { retryable: boolean }).retryable).toBe(true);
      expect((err as Error).message).toBe(
        `writing the store database ${join(dir, 'beacon.db')} failed (SQLITE_FULL: database or disk is full); the writes were not applied; the store retries by itself and takes writes again once the disk does`,
      );
    }
    // Nothing of the failed commit is visible, and memory agrees with the disk.
    expect(await s.range('')).toEqual(before.range);
    expect(await s.stats()).toEqual(before.stats);
    expect(await s.keepAlive(lease)).toBe(60);
    expect(watched.batches).toEqual([]);
    expect(s.health()).toMatchObject({ writable: false, lastError: 'SQLITE_FULL: database or disk is full' });
    expect(storeHealth(namespaced(s, 'view/')).writable).toBe(false);
    expect(s.counters()).toMatchObject({ writable: 0, commitFailures: 1 });
    // Reads go on.
    expect((await s.get('a'))?.value).toBe('1');

    freeDisk();
    await vi.waitFor(() => expect(s.health().writable).toBe(true), { timeout: 30_000, interval: 20 });
    expect(changes.map((h) => h.writable)).toEqual([false, true]);
    expect(s.health().lastError).toBe('SQLITE_FULL: database or disk is full');
    expect(s.counters().writable).toBe(1);

    // Revisions continue without a gap, watchers get the next write, and a restart agrees.
    const next = await s.put('a', '3');
    expect(next.revision).toBe(before.stats.revision + 1);
    await watched.untilRevision(next.revision);
    expect(watched.batches.map((b) => b.revision)).toEqual([next.revision]);
    await s.revoke(lease);
    const after = await s.range('');
    await s.close();
    const reopened = await EmbeddedStore.open({ dataDir: dir });
    open.push(reopened);
    expect(await reopened.range('')).toEqual(after);
  });

  it('tries writes that arrive while unwritable: the first one to commit ends the outage', async () => {
    const { store: s } = await fresh();
    const freeDisk = fillDisk();
    expect(isBeaconError(await rejection(s.put('k', '1')), 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
    expect(isBeaconError(await rejection(s.put('k', '2')), 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
    expect(s.counters().commitFailures).toBe(2);
    freeDisk();
    expect((await s.put('k', '3')).revision).toBe(2);
    expect(s.health().writable).toBe(true);
  });

  it('keeps an expired lease (and its keys) until its expiry can be written, gone for clients meanwhile', async () => {
    const { store: s } = await fresh();
    const lease = await s.grant(1);
    await s.put('eph', 'x', { lease });
    const freeDisk = fillDisk();
    // The expiry's commit fails: the lease stays, its keys stay, and it is tried again.
    await vi.waitFor(() => expect(s.counters().commitFailures).toBeGreaterThan(0), { timeout: 30_000, interval: 20 });
    expect((await s.get('eph'))?.value).toBe('x');
    expect(isBeaconError(await rejection(s.keepAlive(lease)), 'BEACON_ERR_LEASE_NOT_FOUND')).toBe(true);
    expect(isBeaconError(await rejection(s.put('more', 'y', { lease })), 'BEACON_ERR_LEASE_NOT_FOUND')).toBe(true);
    freeDisk();
    await vi.waitFor(async () => expect(await s.get('eph')).toBeUndefined(), { timeout: 30_000, interval: 20 });
    expect((await s.stats()).leases).toBe(0);
    expect(s.counters().leaseExpiries).toBe(1);
  });

  it('reports the store unwritable once closed', async () => {
    const { store: s } = await fresh();
    expect(s.health().writable).toBe(true);
    await s.close();
    expect(s.health()).toMatchObject({ writable: false, lastError: 'the store is closed' });
  });
});
