import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BeaconClient } from '../client.js';
import { FakeConsul, until } from '../transport/fake-consul.test-suite.js';
import type { ServiceChange } from './types.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fake(): Promise<FakeConsul> {
  const f = await FakeConsul.start();
  cleanup.push(() => f.close());
  return f;
}

function client(servers: string[], extra: ConstructorParameters<typeof BeaconClient>[0] = {}): BeaconClient {
  const c = new BeaconClient({ servers, waitMs: 5_000, retry: { baseMs: 20, maxMs: 100 }, deregisterOnSignals: false, requestTimeoutMs: 1_000, ...extra });
  cleanup.push(() => c.close());
  return c;
}

const web = (n: number, status: 'passing' | 'warning' | 'critical' = 'passing') =>
  Array.from({ length: n }, (_, i) => ({ id: `web-${i}`, address: '127.0.0.1', port: 9000 + i, status }));

describe('HTTP discovery: snapshot and blocking queries', () => {
  it('fills the cache with a snapshot, then blocks on the index it was given', async () => {
    const f = await fake();
    f.set('web', web(2));
    const c = client([f.url]);
    const snap = await c.discover('web');
    expect(snap.instances.map((i) => i.id)).toEqual(['web-0', 'web-1']);
    expect(snap.stale).toBe(false);
    expect(snap.index).toBe(f.index);
    await until(() => f.count('/v1/health/service/web') >= 2, 2_000, 'a blocking query');
    const blocking = f.requests.filter((r) => r.path === '/v1/health/service/web')[1];
    expect(blocking.query.get('index')).toBe(String(f.index));
    expect(blocking.query.get('wait')).toBe('5000ms');
    expect(blocking.query.has('passing')).toBe(true);
    const first = f.requests.find((r) => r.path === '/v1/health/service/web')!;
    expect(first.query.has('index')).toBe(false);
  });

  it('passes tag, dc and passing through, and a second discover is served from cache', async () => {
    const f = await fake();
    f.set('web', [
      { id: 'a', address: '127.0.0.1', port: 1, tags: ['v2'] },
      { id: 'b', address: '127.0.0.1', port: 2, tags: ['v1'] },
    ]);
    const c = client([f.url], { datacenter: 'dc9' });
    const snap = await c.discover('web', { tag: 'v2', passing: false });
    expect(snap.instances.map((i) => i.id)).toEqual(['a']);
    const q = f.requests.find((r) => r.path === '/v1/health/service/web')!.query;
    expect(q.getAll('tag')).toEqual(['v2']);
    expect(q.get('dc')).toBe('dc9');
    expect(q.has('passing')).toBe(false);
    const reads = f.count('/v1/health/service/web');
    await c.discover('web', { tag: 'v2', passing: false });
    expect(f.count('/v1/health/service/web')).toBeLessThanOrEqual(reads + 1);
  });

  it('delivers a change to watchers from the blocking query it wakes, as added/removed/changed', async () => {
    const f = await fake();
    f.set('web', web(2));
    // Blocking queries wait 60 s: a change seen well before that came from the query it woke.
    const c = client([f.url], { waitMs: 60_000 });
    const reads = () => f.count('/v1/health/service/web');
    const changes: Array<ServiceChange & { reads: number }> = [];
    c.watch('web', (ch) => changes.push({ ...ch, reads: reads() }));
    await until(() => changes.length === 1, 10_000, 'initial event');
    expect(changes[0].added.map((i) => i.id)).toEqual(['web-0', 'web-1']);
    await until(() => reads() >= 2, 10_000, 'blocking query armed');
    const armed = reads();
    f.set('web', [
      { id: 'web-0', address: '127.0.0.1', port: 9100 },
      { id: 'web-2', address: '127.0.0.1', port: 9002 },
    ]);
    await until(() => changes.length === 2, 10_000, 'change event');
    const ch = changes[1];
    // Delivered by the answer to the armed query (at most its successor was sent meanwhile).
    expect(ch.reads).toBeLessThanOrEqual(armed + 1);
    expect(f.requests.filter((r) => r.path === '/v1/health/service/web')[armed - 1].query.get('wait')).toBe('60000ms');
    expect(ch.added.map((i) => i.id)).toEqual(['web-2']);
    expect(ch.removed.map((i) => i.id)).toEqual(['web-1']);
    expect(ch.changed.map((x) => [x.before.port, x.after.port])).toEqual([[9000, 9100]]);
  });

  it('does not notify when an answer changes nothing', async () => {
    const f = await fake();
    f.set('web', web(1));
    const c = client([f.url]);
    const changes: ServiceChange[] = [];
    c.watch('web', (ch) => changes.push(ch));
    await until(() => changes.length === 1);
    for (let n = 2; n <= 4; n++) {
      await until(() => f.count('/v1/health/service/web') >= n, 2_000, `read ${n}`);
      await new Promise((r) => setTimeout(r, 20));
      f.bump();
    }
    await until(() => f.count('/v1/health/service/web') >= 5, 2_000, 'read 5');
    expect(changes).toHaveLength(1);
  });

  it('resets to a fresh read when the index goes backwards', async () => {
    const f = await fake();
    f.set('web', web(1));
    f.index = 500;
    const c = client([f.url]);
    await c.discover('web');
    await until(() => f.requests.some((r) => r.query.get('index') === '500'), 2_000, 'block on 500');
    f.index = 20;
    f.set('web', web(2)); // index 21 < 500
    await until(() => f.requests.some((r) => r.query.get('index') === '21'), 2_000, 'block on the new index');
    const reads = f.requests.filter((r) => r.path === '/v1/health/service/web');
    const i500 = reads.findIndex((r) => r.query.get('index') === '500');
    // After the backwards answer: one read without index, then blocking on 21.
    expect(reads.slice(i500 + 1).map((r) => r.query.get('index'))).toContain(null);
    expect((await c.discover('web')).instances).toHaveLength(2);
  });

  it('blocks on 1 when the server says index 0, and never hammers it', async () => {
    const f = await fake();
    f.set('web', web(1));
    f.indexOverride = '0';
    f.noBlocking = true;
    const c = client([f.url]);
    await c.discover('web');
    await new Promise((r) => setTimeout(r, 600));
    const reads = f.requests.filter((r) => r.path === '/v1/health/service/web');
    expect(reads.some((r) => r.query.get('index') === '1')).toBe(true);
    expect(reads.some((r) => r.query.get('index') === '0')).toBe(false);
    // A tight loop would make thousands of requests; the back-off keeps it to a handful.
    expect(reads.length).toBeLessThan(25);
  });

  it('rejects the first discover with a clear error when the registry refuses (4xx)', async () => {
    const f = await fake();
    f.failWith = { status: 403, body: 'ACL not found' };
    const c = client([f.url]);
    await expect(c.discover('web')).rejects.toMatchObject({ code: 'BEACON_ERR_REGISTRY_RESPONSE', status: 403 });
  });
});

describe('HTTP discovery: outages and failover', () => {
  it('freezes the last known set while every server is down, then recovers', async () => {
    const f = await fake();
    f.set('web', web(3));
    const port = Number(new URL(f.url).port);
    const c = client([f.url]);
    expect((await c.discover('web')).instances).toHaveLength(3);
    await until(() => f.count('/v1/health/service/web') >= 2, 10_000, 'blocking query');
    const down = performance.now();
    await f.close();
    await until(() => c.cached('web')?.stale === true, 10_000, 'stale mark');
    await new Promise((r) => setTimeout(r, 300));
    const frozen = await c.discover('web');
    expect(frozen.stale).toBe(true);
    expect(frozen.instances).toHaveLength(3);
    // Its age counts from the last answer, before the server went down: failures do not renew it.
    const sinceDown = performance.now() - down;
    expect(frozen.ageMs).toBeGreaterThanOrEqual(sinceDown);
    expect(frozen.error).toBeInstanceOf(Error);
    expect((await c.pick('web')).port).toBeGreaterThanOrEqual(9000);

    const back = new FakeConsul();
    const restarted = performance.now();
    await new Promise<void>((resolve) => back.server.listen(port, '127.0.0.1', resolve));
    back.url = f.url;
    cleanup.push(() => back.close());
    back.set('web', web(1));
    await until(() => c.cached('web')?.stale === false, 10_000, 'recovery');
    const fresh = await c.discover('web');
    expect(fresh.instances.map((i) => i.id)).toEqual(['web-0']);
    // Confirmed again by the restarted server: the age counts from an answer after the restart.
    const age = fresh.ageMs;
    expect(age).toBeLessThanOrEqual(performance.now() - restarted);
  });

  it('rejects with BEACON_ERR_REGISTRY_UNREACHABLE when nothing was ever known', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const c = client([`http://127.0.0.1:${port}`]);
    await expect(c.discover('web')).rejects.toMatchObject({ code: 'BEACON_ERR_REGISTRY_UNREACHABLE' });
  });

  it('fails over to the next server address, for the snapshot and for the blocking loop', async () => {
    const a = await fake();
    const b = await fake();
    a.set('web', web(1));
    b.set('web', web(2));
    const c = client([a.url, b.url]);
    expect((await c.discover('web')).instances).toHaveLength(1);
    await until(() => a.count('/v1/health/service/web') >= 2, 2_000, 'blocking on a');
    await a.close();
    await until(() => b.count('/v1/health/service/web') >= 2, 3_000, 'blocking on b');
    const snap = await c.discover('web');
    expect(snap.instances).toHaveLength(2);
    expect(snap.stale).toBe(false);
  });

  it('fails over on 503 from a server', async () => {
    const a = await fake();
    const b = await fake();
    a.failWith = { status: 503, body: 'No cluster leader' };
    b.set('web', web(2));
    const c = client([a.url, b.url]);
    expect((await c.discover('web')).instances).toHaveLength(2);
  });
});
