import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordChange } from '../catalog/index.js';
import { silentLogger } from '../config/index.js';
import { EventHub } from './hub.js';
import type { BeaconEvent } from './types.js';
import { WebhookSink } from './webhook-sink.js';

const node = (n: string): RecordChange => ({
  kind: 'node',
  node: n,
  id: n,
  before: undefined,
  after: { ID: '', Node: n, Address: '', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
});

/** A receiver in memory: answers each POST by `answer()`, keeps what it took. */
function receiver(answer: () => number) {
  const got: BeaconEvent[] = [];
  let posts = 0;
  const fetchFn = ((_url: string | URL | Request, init?: RequestInit) => {
    posts++;
    const status = answer();
    if (status === 200) for (const l of (init?.body as string).split('\n')) if (l) got.push(JSON.parse(l) as BeaconEvent);
    return Promise.resolve(new Response(null, { status: status === 200 ? 204 : status }));
  }) as typeof fetch;
  return { got, fetchFn, posts: () => posts };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('WebhookSink', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'beacon-sink-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const hubAt = (rev: number) => {
    const hub = new EventHub({ datacenter: 'dc1', history: { maxEvents: 100, maxAgeMs: 3_600_000 } });
    hub.history.floor = hub.history.revision = rev;
    return hub;
  };

  it('retries a refused batch and delivers every event once accepted, in order', async () => {
    let refuse = 3;
    const r = receiver(() => (refuse-- > 0 ? 503 : 200));
    const hub = hubAt(0);
    const sink = new WebhookSink(hub, {
      url: 'http://receiver/',
      cursorPath: join(dir(), 'c.json'),
      logger: silentLogger,
      fetch: r.fetchFn,
      backoff: { baseMs: 1, maxMs: 4 },
    });
    sink.start();
    for (let i = 1; i <= 5; i++) hub.apply([node(`n${i}`)], i);
    await until(() => r.got.length >= 5);
    expect(r.got.map((e) => e.revision)).toEqual([1, 2, 3, 4, 5]);
    expect(sink.stats.failures).toBeGreaterThanOrEqual(3);
    expect(sink.lag).toBe(0);
    await sink.stop();
  });

  it('keeps what it could not deliver at stop and delivers it first at the next start', async () => {
    const d = dir();
    let up = false;
    const r = receiver(() => (up ? 200 : 500));
    const hub = hubAt(0);
    const first = new WebhookSink(hub, {
      url: 'http://receiver/',
      cursorPath: join(d, 'c.json'),
      logger: silentLogger,
      fetch: r.fetchFn,
      backoff: { baseMs: 1, maxMs: 4 },
    });
    first.start();
    hub.apply([node('a')], 1);
    hub.apply([node('b')], 2);
    await until(() => r.posts() > 0);
    await first.stop();
    up = true;
    const hub2 = hubAt(2);
    const second = new WebhookSink(hub2, { url: 'http://receiver/', cursorPath: join(d, 'c.json'), logger: silentLogger, fetch: r.fetchFn });
    second.start();
    hub2.apply([node('c')], 3);
    await until(() => r.got.length >= 3);
    expect(r.got.map((e) => e.node)).toEqual(['a', 'b', 'c']);
    expect(r.got.some((e) => e.kind === 'gap')).toBe(false);
    await second.stop();
  });

  it('sends a gap when the history dropped events before they were delivered, and ignores a cursor ahead of the store', async () => {
    const d = dir();
    writeFileSync(join(d, 'c.json'), JSON.stringify({ target: 'http://receiver/', revision: 5 }));
    const r = receiver(() => 200);
    const hub = hubAt(20);
    const sink = new WebhookSink(hub, { url: 'http://receiver/', cursorPath: join(d, 'c.json'), logger: silentLogger, fetch: r.fetchFn });
    sink.start();
    hub.apply([node('x')], 21);
    await until(() => r.got.length >= 2);
    expect(r.got[0]).toMatchObject({ kind: 'gap', after: 5, revision: 20 });
    expect(r.got[1]).toMatchObject({ node: 'x', revision: 21 });
    expect(sink.stats.lost).toBe(1);
    await sink.stop();

    const ahead = mkdtempSync(join(tmpdir(), 'beacon-sink-'));
    dirs.push(ahead);
    writeFileSync(join(ahead, 'c.json'), JSON.stringify({ target: 'http://receiver/', revision: 999 }));
    const r2 = receiver(() => 200);
    const hub2 = hubAt(10);
    const s2 = new WebhookSink(hub2, { url: 'http://receiver/', cursorPath: join(ahead, 'c.json'), logger: silentLogger, fetch: r2.fetchFn });
    s2.start();
    hub2.apply([node('y')], 11);
    await until(() => r2.got.length >= 1);
    expect(r2.got[0]).toMatchObject({ node: 'y' });
    await s2.stop();
  });
});
