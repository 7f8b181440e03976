import { describe, expect, it } from 'vitest';
import { ResponseCache, type CacheEntry } from './response-cache.js';

const entry = (index: number, current = () => index, servable?: boolean): CacheEntry => ({
  index,
  currentIndex: current,
  body: Buffer.from(`[${index}]`),
  headers: {},
  onHit: () => undefined,
  ...(servable === undefined ? {} : { servable }),
});

describe('ResponseCache', () => {
  it('the shape of a query is its URL without index and wait, everything else kept in order', () => {
    expect(ResponseCache.shapeOf('/v1/health/service/web')).toBe('/v1/health/service/web');
    expect(ResponseCache.shapeOf('/v1/health/service/web?index=5')).toBe('/v1/health/service/web');
    expect(ResponseCache.shapeOf('/v1/health/service/web?index=5&wait=30s')).toBe('/v1/health/service/web');
    expect(ResponseCache.shapeOf('/v1/health/service/web?passing&index=5&tag=a&wait=1m&tag=b')).toBe('/v1/health/service/web?passing&tag=a&tag=b');
    expect(ResponseCache.shapeOf('/v1/health/service/web?filter=index%3D%3D1&index=7')).toBe('/v1/health/service/web?filter=index%3D%3D1');
    expect(ResponseCache.shapeOf('/v1/health/service/web?indexed=1&waiting&stale')).toBe('/v1/health/service/web?indexed=1&waiting&stale');
    expect(ResponseCache.shapeOf('/v1/health/service/web?consistent&index=3')).toBe('/v1/health/service/web?consistent');
    expect(ResponseCache.shapeOf('/v1/status/leader?index')).toBe('/v1/status/leader');
  });

  it('answers a shape only at the index it was built for, while the data is still there', () => {
    const c = new ResponseCache();
    let current = 5;
    c.set(
      '/a',
      entry(5, () => current),
    );
    expect(c.answer('/a', 5)?.body.toString()).toBe('[5]');
    expect(c.answer('/a', 6)).toBeUndefined();
    current = 6;
    expect(c.answer('/a', 5)).toBeUndefined();
  });

  it('keeps a plain read once its shape was asked for before; a stream of one-off URLs keeps nothing', () => {
    const c = new ResponseCache(4);
    expect(c.askedBefore('/a')).toBe(false);
    expect(c.askedBefore('/a')).toBe(true);
    // Ten one-off URLs: each is only remembered as seen, in a bounded set.
    for (let i = 0; i < 10; i++) expect(c.askedBefore(`/once/${i}`)).toBe(false);
    expect(c.size).toBe(0);
    c.clear();
    expect(c.askedBefore('/a')).toBe(false);
  });

  it('stays within its bound under a stream of new URLs, keeping the newest', () => {
    const c = new ResponseCache(160);
    for (let k = 0; k < 10_000; k++) c.set(`/u?n=${k}`, entry(k));
    expect(c.size).toBeLessThanOrEqual(160);
    expect(c.size).toBeGreaterThan(140);
    expect(c.answer('/u?n=9999', 9999)).toBeDefined();
    expect(c.answer('/u?n=0', 0)).toBeUndefined();
  });

  it('stays within its byte budget when the answers are large, keeping the newest; one too large is not kept', () => {
    const big = (index: number): CacheEntry => ({ ...entry(index), body: Buffer.alloc(500_000) });
    const c = new ResponseCache(10_000, 8 * 1024 * 1024);
    // A client asking for 2,000 different 500 KB answers (each URL twice, so each is kept).
    for (let k = 0; k < 2000; k++) c.set(`/v1/agent/services?cachebust=${k}`, big(k));
    expect(c.bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(c.size).toBeGreaterThan(10);
    expect(c.answer('/v1/agent/services?cachebust=1999', 1999)).toBeDefined();
    expect(c.answer('/v1/agent/services?cachebust=0', 0)).toBeUndefined();
    // Replacing and dropping keep the count right.
    c.set('/v1/agent/services?cachebust=1999', big(2000));
    expect(c.bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    c.clear();
    expect(c.bytes).toBe(0);
    c.set('/huge', { ...entry(1), body: Buffer.alloc(3 * 1024 * 1024) });
    expect(c.size).toBe(0);
  });

  it('does not serve before routing what is only shared with blocking queries', () => {
    const c = new ResponseCache();
    c.set(
      '/v1/catalog/services?consistent',
      entry(3, () => 3, false),
    );
    let wrote = false;
    const res = {
      writeHead: () => {
        wrote = true;
      },
      end: () => undefined,
    };
    expect(c.tryServe({ method: 'GET', url: '/v1/catalog/services?consistent' } as never, res as never)).toBe(false);
    expect(wrote).toBe(false);
    c.set('/v1/catalog/services', entry(3));
    expect(c.tryServe({ method: 'GET', url: '/v1/catalog/services' } as never, res as never)).toBe(true);
    expect(wrote).toBe(true);
  });
});
