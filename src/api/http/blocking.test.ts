/**
 * Blocking reads share one encoded answer per query shape and index, and drop waiters whose
 * client went away. A small Fastify app around blockingRead, with the catalog's waiters.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TopicWaiters } from '../../catalog/waiters.js';
import { blockingRead } from './blocking.js';
import type { HttpContext } from './context.js';
import { ResponseCache } from './response-cache.js';

interface Fixture {
  app: FastifyInstance;
  base: string;
  waiters: TopicWaiters;
  /** Moves the index of `web` and wakes its waiters, as the catalog does on a change. */
  change(): void;
  builds: string[];
  sends: string[];
  cache: ResponseCache;
}

let fx: Fixture;

beforeEach(async () => {
  const waiters = new TopicWaiters({ sliceSize: 2 });
  let index = 10;
  const builds: string[] = [];
  const sends: string[] = [];
  const cache = new ResponseCache();
  const noop = { inc() {}, dec() {}, observe() {} };
  const ctx = {
    config: { datacenter: 'dc1' },
    catalog: { catchUp: () => Promise.resolve(), waitForChange: waiters.wait.bind(waiters), pendingCount: 0, pendingVersion: 0 },
    store: {},
    metrics: { blockingWaiting: noop, record: () => undefined },
    responseCache: cache,
    shutdownSignal: new AbortController().signal,
  } as unknown as HttpContext;
  const app = Fastify();
  // Every answer written to a socket, however it is written (Fastify's send or directly).
  app.addHook('onRequest', (req, reply, done) => {
    const res = reply.raw as unknown as { end: (...args: unknown[]) => unknown };
    const end = res.end.bind(res);
    res.end = (...args: unknown[]) => {
      sends.push(req.url);
      return end(...args);
    };
    done();
  });
  app.get('/r/:name', (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    return blockingRead(ctx, req, reply, {
      topics: ['svc:web'],
      index: () => index,
      body: () => {
        builds.push(req.url);
        return [{ name: (req.params as { name: string }).name, index, tag: q.tag ?? null, passing: 'passing' in q, unicode: 'zürich ✓' }];
      },
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  fx = {
    app,
    base: `http://127.0.0.1:${port}`,
    waiters,
    builds,
    sends,
    cache,
    change: () => {
      index++;
      waiters.notify(['svc:web']);
    },
  };
});
afterEach(async () => {
  await fx.app.close();
});

async function parked(n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (fx.waiters.waiting < n) {
    if (Date.now() > deadline) throw new Error(`only ${fx.waiters.waiting} of ${n} waiters parked`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const get = async (path: string) => {
  const r = await fetch(`${fx.base}${path}`);
  return { status: r.status, index: r.headers.get('x-consul-index'), body: Buffer.from(await r.arrayBuffer()) };
};

describe('blocking reads share answers per shape and index', () => {
  it('waiters of one shape get the same bytes, built once; other shapes get their own', async () => {
    const same = [get('/r/web?passing&index=10&wait=30s'), get('/r/web?index=10&passing'), get('/r/web?passing&wait=10s&index=10')];
    const tagged = get('/r/web?tag=v2&index=10');
    const other = get('/r/web?passing&tag=v2&index=10');
    await parked(5);
    fx.change();
    const answers = await Promise.all(same);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.index).toBe('11');
      expect(a.body.equals(answers[0].body)).toBe(true);
    }
    expect(JSON.parse(answers[0].body.toString())).toEqual([{ name: 'web', index: 11, tag: null, passing: true, unicode: 'zürich ✓' }]);
    const [t, o] = [await tagged, await other];
    expect(JSON.parse(t.body.toString())).toEqual([{ name: 'web', index: 11, tag: 'v2', passing: false, unicode: 'zürich ✓' }]);
    expect(JSON.parse(o.body.toString())).toEqual([{ name: 'web', index: 11, tag: 'v2', passing: true, unicode: 'zürich ✓' }]);
    expect(t.body.equals(answers[0].body)).toBe(false);
    expect(o.body.equals(t.body)).toBe(false);
    // One build per shape: ?passing, ?tag=v2, ?passing&tag=v2.
    expect(fx.builds).toHaveLength(3);
    // A plain read of a shape is then served from the shared answer without building.
    expect((await get('/r/web?passing')).body.equals(answers[0].body)).toBe(true);
    expect(fx.builds).toHaveLength(3);
  });

  it('a waiter whose client disconnected is neither built for nor sent to', async () => {
    const kept = get('/r/gone?index=10&wait=30s');
    const req = httpRequest(`${fx.base}/r/gone?index=10&wait=30s&drop=1`);
    req.on('error', () => undefined);
    req.end();
    await parked(2);
    req.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(fx.waiters.waiting).toBe(1);
    fx.change();
    expect((await kept).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(fx.builds).toEqual(['/r/gone?index=10&wait=30s']);
    expect(fx.sends).toEqual(['/r/gone?index=10&wait=30s']);
  });

  it('keeps blocking semantics: wait timeout with the same index, an index gone backwards answers at once', async () => {
    const t0 = performance.now();
    const idle = await get('/r/web?index=10&wait=100ms');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    expect(idle.index).toBe('10');
    const t1 = performance.now();
    const ahead = await get('/r/web?index=99&wait=30s');
    expect(performance.now() - t1).toBeLessThan(1000);
    expect(ahead.index).toBe('10');
  });

  it('an answer is shared only at the index it was built for', async () => {
    const first = await get('/r/web');
    fx.change();
    const second = await get('/r/web');
    expect(second.index).toBe('11');
    expect(second.body.equals(first.body)).toBe(false);
    expect(fx.builds).toHaveLength(2);
  });
});
