/**
 * Blocking queries on every read endpoint, against a real server: `index` + `wait`, woken by a
 * change to the data the read depends on (and only by that), X-Consul-* headers on every
 * response, index never 0 and never frozen by a client that holds a later one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let nodeName = '';
let n = 0;

const url = (path: string) => `${server.httpUrl}${path}`;
const put = (path: string, body: unknown) => fetch(url(path), { method: 'PUT', body: JSON.stringify(body) });
const indexOf = (r: Response) => Number(r.headers.get('x-consul-index'));
const sep = (path: string) => (path.includes('?') ? '&' : '?');

/**
 * `p`, or undefined if it has not settled within `ms`. The bounds used here are far below the
 * blocking waits (30-60 s): margins that tell "woken" from "waited out", not speed limits.
 */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((resolve) => {
        t = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

/** A request whose `settled` flag says whether its answer came yet. */
function tracked<T>(p: Promise<T>): { done: Promise<T>; settled: () => boolean } {
  let settled = false;
  const done = p.finally(() => {
    settled = true;
  });
  return { done, settled: () => settled };
}

/** A change that each read depends on; every call makes a new one. */
const changes = {
  agentService: () => put('/v1/agent/service/register', { Name: 'blk-web', ID: 'blk-web-1', Port: 1000 + ++n }),
  externalService: () =>
    put('/v1/catalog/register', {
      Node: 'blk-ext',
      Address: '10.0.0.9',
      NodeMeta: { rack: 'r1' },
      Service: { Service: 'blk-ext-svc', Tags: ['t1', 't2'], Port: 2000 + ++n },
    }),
  newNode: () => put('/v1/catalog/register', { Node: `blk-node-${++n}`, Address: '10.0.1.1' }),
  newService: () => put('/v1/agent/service/register', { Name: `blk-new-${++n}` }),
  check: () =>
    put('/v1/catalog/register', {
      Node: 'blk-ext',
      Address: '10.0.0.9',
      NodeMeta: { rack: 'r1' },
      Check: { CheckID: 'blk-chk', Name: 'c', ServiceID: 'blk-ext-svc', Status: ++n % 2 ? 'passing' : 'warning' },
    }),
};

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  nodeName = ((await (await fetch(url('/v1/agent/self'))).json()) as { Config: { NodeName: string } }).Config.NodeName;
  expect((await changes.agentService()).status).toBe(200);
  expect((await changes.externalService()).status).toBe(200);
  expect((await changes.check()).status).toBe(200);
});
afterAll(async () => {
  await server?.stop();
});

describe('blocking queries on every read endpoint', () => {
  const reads: Array<[string, () => string, keyof typeof changes]> = [
    ['catalog services', () => '/v1/catalog/services', 'newService'],
    ['catalog service', () => '/v1/catalog/service/blk-web', 'agentService'],
    [
      'catalog service (tag, node-meta, filter)',
      () => '/v1/catalog/service/blk-ext-svc?tag=t1&tag=t2&node-meta=rack:r1&filter=ServicePort%20!%3D%200',
      'externalService',
    ],
    ['catalog nodes', () => '/v1/catalog/nodes', 'newNode'],
    ['catalog node', () => '/v1/catalog/node/blk-ext', 'externalService'],
    ['catalog datacenters', () => '/v1/catalog/datacenters', 'agentService'],
    ['health service', () => '/v1/health/service/blk-web?stale', 'agentService'],
    ['health checks', () => '/v1/health/checks/blk-ext-svc', 'externalService'],
    ['health node', () => '/v1/health/node/blk-ext', 'check'],
    ['health state', () => '/v1/health/state/any', 'check'],
    ['agent services', () => '/v1/agent/services', 'agentService'],
    ['agent service', () => '/v1/agent/service/blk-web-1', 'agentService'],
    ['agent self', () => '/v1/agent/self', 'agentService'],
    ['agent members', () => '/v1/agent/members', 'agentService'],
    ['status leader', () => '/v1/status/leader', 'agentService'],
    ['status peers', () => `/v1/status/peers?dc=${'dc1'}`, 'agentService'],
  ];

  it.each(reads)('%s: waits out ?wait with an unchanged index, and a change wakes it', async (_label, path, change) => {
    const first = await fetch(url(path()));
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(Array.isArray(body) ? body.length : Object.keys(body as object).length).toBeGreaterThan(0);
    const index = indexOf(first);
    expect(index).toBeGreaterThan(0);
    for (const h of ['x-consul-knownleader', 'x-consul-lastcontact']) expect(first.headers.get(h)).not.toBeNull();

    // Nothing changes: the answer comes once `wait` runs out, with the same index.
    const idle = await fetch(url(`${path()}${sep(path())}index=${index}&wait=300ms`));
    await idle.arrayBuffer();
    expect(idle.status).toBe(200);
    expect(indexOf(idle)).toBe(index);

    // A query with a 30 s wait blocks: still unanswered after another request's round trip...
    const blocked = tracked(fetch(url(`${path()}${sep(path())}index=${index}&wait=30s`)).then(async (r) => ({ r, body: await r.text() })));
    await new Promise((res) => setTimeout(res, 100));
    expect((await fetch(url('/v1/status/peers'))).status).toBe(200);
    expect(blocked.settled()).toBe(false);
    // ...and a change wakes it long before the wait runs out, with a larger index.
    expect((await changes[change]()).status).toBe(200);
    const woke = await within(blocked.done, 20_000);
    expect(woke, 'the change did not wake the blocking query').toBeDefined();
    expect(woke!.r.status).toBe(200);
    expect(indexOf(woke!.r)).toBeGreaterThan(index);
    expect(woke!.r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(() => JSON.parse(woke!.body) as unknown).not.toThrow();
  });

  it('a change to other data does not wake a query on one service', async () => {
    const first = await fetch(url('/v1/health/service/blk-web'));
    const index = indexOf(first);
    const blocked = tracked(
      fetch(url(`/v1/health/service/blk-web?index=${index}&wait=30s`)).then(async (r) => ({
        r,
        body: (await r.json()) as Array<{ Service: { Port: number } }>,
      })),
    );
    await new Promise((res) => setTimeout(res, 50));
    expect((await changes.newService()).status).toBe(200);
    expect((await changes.externalService()).status).toBe(200);
    expect((await fetch(url('/v1/status/peers'))).status).toBe(200);
    expect(blocked.settled()).toBe(false);
    // Only a change to blk-web wakes it: its answer already holds that later change, so the
    // earlier ones did not wake it.
    expect((await changes.agentService()).status).toBe(200);
    const port = 1000 + n;
    const woke = await within(blocked.done, 20_000);
    expect(woke, 'the change to blk-web did not wake the blocking query').toBeDefined();
    expect(indexOf(woke!.r)).toBeGreaterThan(index);
    expect(woke!.body.map((e) => e.Service.Port)).toEqual([port]);
  });

  it('deleting the last instance moves the index forward; the empty answer is [] with a non-zero index', async () => {
    expect((await put('/v1/agent/service/register', { Name: 'blk-gone', ID: 'blk-gone-1' })).status).toBe(200);
    const before = await fetch(url('/v1/health/service/blk-gone'));
    const index = indexOf(before);
    const blocked = fetch(url(`/v1/health/service/blk-gone?index=${index}&wait=30s`));
    await new Promise((res) => setTimeout(res, 50));
    expect((await put('/v1/agent/service/deregister/blk-gone-1', {})).status).toBe(200);
    const after = await blocked;
    expect(indexOf(after)).toBeGreaterThan(index);
    expect(await after.json()).toEqual([]);
    const never = await fetch(url('/v1/health/service/never-registered'));
    expect(indexOf(never)).toBeGreaterThan(0);
    expect(await never.json()).toEqual([]);
  });

  it('an index ahead of the data answers at once with the current index, so the client resets', async () => {
    const current = indexOf(await fetch(url('/v1/catalog/services')));
    // The wait is 60 s: an answer inside the generous bound means it did not wait.
    const r = await within(fetch(url(`/v1/catalog/services?index=${current + 1_000_000}&wait=60s`)), 20_000);
    expect(r, 'an index ahead of the data waited').toBeDefined();
    expect(indexOf(r!)).toBe(current);
  });

  it('errors, writes and non-Consul paths carry the X-Consul headers too', async () => {
    const responses = [
      await fetch(url('/v1/catalog/service/x?index=abc')),
      await fetch(url('/v1/catalog/services?dc=elsewhere')),
      await fetch(url('/v1/agent/service/no-such-id')),
      await fetch(url('/v1/no/such/path')),
      await fetch(url('/v1/catalog/services'), { method: 'DELETE' }),
      await put('/v1/agent/service/register', { Name: 'blk-hdr' }),
      await put('/v1/agent/service/register', { Port: 1 }),
      await fetch(url('/metrics')),
    ];
    expect(responses.map((r) => r.status)).toEqual([400, 500, 404, 404, 405, 200, 400, 200]);
    for (const r of responses) {
      expect(indexOf(r)).toBeGreaterThan(0);
      expect(r.headers.get('x-consul-knownleader')).toBe('true');
      expect(r.headers.get('x-consul-lastcontact')).toBe('0');
      await r.arrayBuffer();
    }
    expect(nodeName).not.toBe('');
  });

  it('/metrics counts requests by route, times them, and shows catalog sizes, waiting queries and the store revision', async () => {
    const metrics = async () => {
      const r = await fetch(url('/metrics'));
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      return r.text();
    };
    const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    const index = indexOf(await fetch(url('/v1/catalog/service/blk-web')));
    const blocked = fetch(url(`/v1/catalog/service/blk-web?index=${index}&wait=30s`));
    await new Promise((res) => setTimeout(res, 100));
    const during = await metrics();
    expect(value(during, /^beacon_http_blocking_queries_waiting (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(during, /^beacon_http_requests_total\{route="\/v1\/catalog\/service\/:name",method="GET",code="200"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(during, /^beacon_http_request_duration_seconds_count\{route="\/v1\/catalog\/service\/:name",method="GET"\} (\d+)/m)).toBeGreaterThan(0);
    expect(during).toMatch(/^beacon_catalog_objects\{kind="services"\} [1-9]/m);
    const rev = value(during, /^beacon_store_revision (\d+)/m);
    expect(rev).toBeGreaterThan(0);
    expect((await changes.agentService()).status).toBe(200);
    await blocked;
    const after = await metrics();
    expect(value(after, /^beacon_http_blocking_queries_waiting (\d+)/m)).toBe(0);
    expect(value(after, /^beacon_store_revision (\d+)/m)).toBeGreaterThan(rev);
  });

  it('status/leader answers a JSON string on every path (plain, blocking, pretty)', async () => {
    for (const q of ['', '?index=1&wait=1ms', '?pretty']) {
      const r = await fetch(url(`/v1/status/leader${q}`));
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(typeof (await r.json())).toBe('string');
    }
  });
});
