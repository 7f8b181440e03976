import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { BeaconError } from '../errors/index.js';
import type { Store, WatchOptions } from '../store/index.js';
import { CatalogSessions, sessionKey, type SessionChange, type SessionFollower, type SessionId } from './sessions.js';

let fixture: TestCatalog;
let store: Store;
let sessions: CatalogSessions;

beforeEach(async () => {
  ({ store } = fixture = await openTestCatalog('beacon-sessions-'));
  sessions = new CatalogSessions(store);
});
afterEach(async () => {
  await fixture.close();
});

/** A follower that records what it is told. */
function recorder() {
  const changes: SessionChange[] = [];
  const reloads: Map<string, SessionId>[] = [];
  const errors: Error[] = [];
  const follower: SessionFollower = {
    changed: (cs) => changes.push(...cs),
    reloaded: (live) => reloads.push(new Map(live)),
    broken: (err) => errors.push(err),
  };
  return { changes, reloads, errors, follower };
}

describe('CatalogSessions', () => {
  it('opens a session with the node key on its lease; revoking it removes the key', async () => {
    const s = await sessions.open('n 1', 10);
    const kv = await store.get(sessionKey('n 1'));
    expect(kv?.key).toBe('beacon/sessions/n%201');
    expect(kv?.lease).toBe(s.id);
    expect(JSON.parse(kv!.value)).toMatchObject({ Node: 'n 1', Lease: s.id });
    expect(await s.keepAlive()).toBe(true);
    await s.end({ revoke: true });
    expect(await store.get(sessionKey('n 1'))).toBeUndefined();
    expect(await s.keepAlive()).toBe(false);
    expect(await s.restore()).toBe(false);
  });

  it('ending without revoke writes nothing (the lease is left to lapse)', async () => {
    const s = await sessions.open('n1', 10);
    const rev = await store.currentRevision();
    await s.end();
    expect(await store.currentRevision()).toBe(rev);
    expect(await s.keepAlive()).toBe(true);
  });

  it('a new session of a node ends the one it still held (left by an earlier run)', async () => {
    const old = await sessions.open('n1', 10);
    const fresh = await sessions.open('n1', 10);
    expect(fresh.id).not.toBe(old.id);
    expect(await old.keepAlive()).toBe(false);
    expect((await store.get(sessionKey('n1')))?.lease).toBe(fresh.id);
  });

  it('restore puts a missing key back on the session, and leaves a present one alone', async () => {
    const s = await sessions.open('n1', 10);
    // The late end of an older session took the key with it (simulated by deleting it).
    await store.delete(sessionKey('n1'));
    expect(await s.restore()).toBe(true);
    expect((await store.get(sessionKey('n1')))?.lease).toBe(s.id);
    const rev = await store.currentRevision();
    expect(await s.restore()).toBe(true);
    expect(await store.currentRevision()).toBe(rev);
  });

  it('watch lists the live sessions, then reports each up and down with its session', async () => {
    const a = await sessions.open('a', 10);
    const r = recorder();
    const w = await sessions.watch(r.follower);
    expect([...w.initial]).toEqual([['a', a.id]]);
    const b = await sessions.open('b', 10);
    await a.end({ revoke: true });
    await vi.waitFor(() => expect(r.changes).toHaveLength(2), { timeout: 5000 });
    expect(r.changes).toEqual([
      { node: 'b', up: true, session: b.id },
      { node: 'a', up: false, session: a.id },
    ]);
    w.cancel();
    await b.end({ revoke: true });
    expect(r.changes).toHaveLength(2);
  });

  it('a broken watch re-lists and hands over every live session', async () => {
    // A store whose watches the test can break.
    const failers: ((err: Error) => void)[] = [];
    const breakable = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'watch') {
          return (opts: WatchOptions) => {
            const handle = target.watch(opts);
            // A failed watch is over: it delivers nothing more.
            failers.push((err) => {
              handle.cancel();
              opts.onError(err);
            });
            return handle;
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const mine = new CatalogSessions(breakable);
    const a = await mine.open('a', 10);
    const r = recorder();
    const w = await mine.watch(r.follower);
    expect(failers).toHaveLength(1);
    const b = await mine.open('b', 10);
    await vi.waitFor(() => expect(r.changes).toEqual([{ node: 'b', up: true, session: b.id }]), { timeout: 5000 });
    failers[0](new BeaconError('BEACON_ERR_COMPACTED', 'compacted'));
    await vi.waitFor(() => expect(r.reloads).toHaveLength(1), { timeout: 5000 });
    expect(r.reloads[0]).toEqual(
      new Map([
        ['a', a.id],
        ['b', b.id],
      ]),
    );
    expect(r.errors).toEqual([]);
    // Any other failure is reported, then re-listed the same way.
    failers[1](new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', 'gone'));
    await vi.waitFor(() => expect(r.reloads).toHaveLength(2), { timeout: 5000 });
    expect(r.errors.map((e) => (e as BeaconError).code)).toEqual(['BEACON_ERR_STORE_UNAVAILABLE']);
    // The new watch follows on from the re-list.
    await b.end({ revoke: true });
    await vi.waitFor(() => expect(r.changes.at(-1)).toEqual({ node: 'b', up: false, session: b.id }), { timeout: 5000 });
    expect(r.changes).toEqual([
      { node: 'b', up: true, session: b.id },
      { node: 'b', up: false, session: b.id },
    ]);
    w.cancel();
  });
});
