import { describe, expect, it } from 'vitest';
import { cacheKey, WatchCache } from './watch-cache.js';
import { parseDataFrame } from './upstream.js';

const key = (url: string): string => {
  const u = new URL(url, 'http://x');
  return cacheKey(u.pathname, u.searchParams);
};

function harness(idleMs = 1000) {
  let now = 0;
  const watched: Array<[number, string, number]> = [];
  const unwatched: number[] = [];
  const cache = new WatchCache({
    watch: (id, path, index) => watched.push([id, path, index]),
    unwatch: (id) => unwatched.push(id),
    idleMs,
    maxEntries: 3,
    now: () => now,
  });
  const frame = (id: number, index: number, body: string) => cache.apply({ id, index, status: 200, knownLeader: true, lastContact: 0, body });
  return { cache, watched, unwatched, frame, tick: (ms: number) => (now += ms) };
}

describe('cacheKey', () => {
  it('orders the query and drops what does not change the answer', () => {
    expect(key('/v1/health/service/web?tag=b&passing&tag=a&index=5&wait=1m&stale&cached')).toBe('/v1/health/service/web?passing&tag=a&tag=b');
    expect(key('/v1/health/service/web?passing=')).toBe(key('/v1/health/service/web?passing'));
    expect(key('/v1/catalog/services?pretty')).toBe('/v1/catalog/services');
    expect(key('/v1/health/service/web?filter=Service.Port%20%3D%3D%2080')).toBe('/v1/health/service/web?filter=Service.Port%20%3D%3D%2080');
  });
});

describe('WatchCache', () => {
  it('holds one upstream watch per read however many callers wait on it, and wakes them all on a change', async () => {
    const { cache, watched, frame } = harness();
    const entries = Array.from({ length: 1000 }, () => cache.entry('/v1/health/service/web'));
    expect(new Set(entries).size).toBe(1);
    expect(watched).toEqual([[1, '/v1/health/service/web', 0]]);
    const e = entries[0]!;
    const first = Promise.all(Array.from({ length: 100 }, () => cache.waitFor(e, -1, 60_000)));
    frame(1, 7, '[]');
    await first;
    expect(e.index).toBe(7);
    expect(e.body?.toString()).toBe('[]');
    let woke = 0;
    const waits = Array.from({ length: 100 }, () => cache.waitFor(e, 7, 60_000).then(() => woke++));
    // The same index again (a blocking evaluation that timed out) wakes nobody.
    frame(1, 7, '[]');
    await new Promise((r) => setTimeout(r, 5));
    expect(woke).toBe(0);
    frame(1, 8, '[1]');
    await Promise.all(waits);
    expect(woke).toBe(100);
    expect(e.waiters.size).toBe(0);
  });

  it('a wait ends at its bound or on abort, with the waiter removed', async () => {
    const { cache } = harness();
    const e = cache.entry('/v1/catalog/services')!;
    await cache.waitFor(e, -1, 10);
    const ac = new AbortController();
    const p = cache.waitFor(e, -1, 60_000, ac.signal);
    expect(e.waiters.size).toBe(1);
    ac.abort();
    await p;
    expect(e.waiters.size).toBe(0);
  });

  it('drops entries unused past idleMs, unless someone waits; a full cache creates no entry', () => {
    const { cache, unwatched, tick } = harness(1000);
    const a = cache.entry('/v1/catalog/services')!;
    cache.entry('/v1/catalog/nodes');
    cache.entry('/v1/health/service/a');
    expect(cache.entry('/v1/health/service/b')).toBeUndefined();
    tick(600);
    cache.entry('/v1/catalog/nodes');
    void cache.waitFor(cache.entry('/v1/health/service/a')!, -1, 60_000);
    tick(600);
    expect(cache.sweep()).toBe(1);
    expect(unwatched).toEqual([a.id]);
    expect(cache.size).toBe(2);
  });

  it('after a reconnection, every entry is watched again from the index it has', () => {
    const { cache, watched, frame } = harness();
    cache.entry('/v1/catalog/services');
    cache.entry('/v1/catalog/nodes');
    frame(1, 12, '{}');
    watched.length = 0;
    cache.resubscribe();
    expect(watched).toEqual([
      [1, '/v1/catalog/services', 12],
      [2, '/v1/catalog/nodes', 0],
    ]);
  });

  it('announces changed answers and dropped entries', () => {
    const { cache, frame } = harness();
    const seen: Array<[string, string | undefined]> = [];
    cache.onChange((e, before) => seen.push([e.key, before?.toString()]));
    const e = cache.entry('/v1/catalog/nodes')!;
    frame(1, 3, '[]');
    frame(1, 3, '[]');
    frame(1, 4, '[1]');
    cache.drop(e);
    expect(seen).toEqual([
      ['/v1/catalog/nodes', undefined],
      ['/v1/catalog/nodes', '[]'],
      ['/v1/catalog/nodes', '[1]'],
    ]);
  });
});

describe('parseDataFrame', () => {
  it('reads the frame and keeps the body as the server encoded it', () => {
    const f = parseDataFrame('{"op":"data","id":4,"index":99,"status":200,"knownLeader":false,"lastContact":12,"body":[{"a":"}"}]}');
    expect(f).toEqual({ id: 4, index: 99, status: 200, knownLeader: false, lastContact: 12, body: '[{"a":"}"}]' });
  });
  it('refuses anything else', () => {
    expect(parseDataFrame('{"op":"ack","seq":1,"writes":0}')).toBeUndefined();
    expect(parseDataFrame('{"op":"data","id":-1,"index":1,"status":200,"knownLeader":true,"lastContact":0,"body":1}')).toBeUndefined();
    expect(parseDataFrame('{"op":"data","id":1,"index":1,"status":200,"knownLeader":true,"lastContact":0,"body":1')).toBeUndefined();
  });
});
