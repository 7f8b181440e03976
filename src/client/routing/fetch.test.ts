import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BeaconClient } from '../client.js';
import type { BeaconClientOptions } from '../options.js';

interface Upstream {
  server: Server;
  port: number;
  hits: number;
  lastHost: string | undefined;
  status: number;
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function upstream(name: string, handler?: (req: IncomingMessage, res: ServerResponse, u: Upstream, body: string) => void): Promise<Upstream> {
  const u: Upstream = { server: undefined as unknown as Server, port: 0, hits: 0, lastHost: undefined, status: 200 };
  u.server = createServer((req, res) => {
    u.hits += 1;
    u.lastHost = req.headers.host;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      handler
        ? handler(req, res, u, Buffer.concat(chunks).toString())
        : res.writeHead(u.status, { 'content-type': 'text/plain' }).end(`${name} ${req.method} ${req.url}`),
    );
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.port = (u.server.address() as AddressInfo).port;
  cleanup.push(async () => {
    u.server.closeAllConnections();
    await new Promise((r) => u.server.close(r));
  });
  return u;
}

async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function client(endpoints: Record<string, Array<string | { address: string; port: number; id?: string }>>, extra: BeaconClientOptions = {}): BeaconClient {
  const c = new BeaconClient({ static: endpoints, deregisterOnSignals: false, strategy: 'round-robin', ...extra });
  cleanup.push(() => c.close());
  return c;
}

describe('beacon.fetch and the dispatcher', () => {
  it('sends http://<service>/… to an instance, keeping path, method and the service as Host', async () => {
    const a = await upstream('a');
    const c = client({ web: [`127.0.0.1:${a.port}`] });
    const res = await c.fetch('http://web/hello?x=1', { method: 'PUT', body: 'payload' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('a PUT /hello?x=1');
    expect(a.lastHost).toBe('web');
    const res2 = await c.fetch('http://web.service.consul/two');
    expect(await res2.text()).toBe('a GET /two');
  });

  it('spreads calls over the instances', async () => {
    const ups = await Promise.all(['a', 'b', 'c'].map((n) => upstream(n)));
    const c = client({ web: ups.map((u) => `127.0.0.1:${u.port}`) });
    for (let i = 0; i < 30; i++) await (await c.fetch('http://web/')).text();
    expect(ups.map((u) => u.hits)).toEqual([10, 10, 10]);
  });

  it('passes other hosts through untouched', async () => {
    const a = await upstream('plain');
    const c = client({});
    const res = await c.fetch(`http://127.0.0.1:${a.port}/x`);
    expect(await res.text()).toBe('plain GET /x');
    // A replayable body to a plain host arrives whole, without the SDK's replay header.
    let got: { body: string; replay: boolean } | undefined;
    const b = await upstream('plain-put', (req, res, _u, body) => {
      got = { body, replay: 'x-beacon-replay-body' in req.headers };
      res.end('ok');
    });
    const put = await c.fetch(`http://127.0.0.1:${b.port}/y`, { method: 'PUT', body: 'data' });
    expect(await put.text()).toBe('ok');
    expect(got).toEqual({ body: 'data', replay: false });
  });

  it('retries an idempotent request on another instance after connection refused, and ejects the dead one', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const dead = await deadPort();
    const c = client(
      { web: [`127.0.0.1:${dead}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] },
      { passiveHealth: { consecutiveFailures: 1, baseEjectionMs: 60_000 } },
    );
    for (let i = 0; i < 12; i++) {
      const res = await c.fetch('http://web/');
      expect(res.status).toBe(200);
      await res.text();
    }
    expect(a.hits + b.hits).toBe(12);
    const snap = c.cached('web')!;
    expect(snap.instances).toHaveLength(3);
  });

  it('retries a GET answered 503 on another instance, but not a POST', async () => {
    const bad = await upstream('bad');
    bad.status = 503;
    const good = await upstream('good');
    const c = client(
      {
        web: [
          { id: 'a-bad', address: '127.0.0.1', port: bad.port },
          { id: 'b-good', address: '127.0.0.1', port: good.port },
        ],
      },
      { passiveHealth: false },
    );
    for (let i = 0; i < 4; i++) {
      const res = await c.fetch('http://web/');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('good GET /');
    }
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await c.fetch('http://web/', { method: 'POST', body: 'x' });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses.sort()).toEqual([200, 200, 503, 503]);
  });

  it('retries PUT/DELETE with a replayable body on another instance, through request() and fetch alike', async () => {
    const seen: Array<{ name: string; method: string; body: string; type: string | undefined; replayHeader: boolean }> = [];
    const echo = (name: string) => (req: IncomingMessage, res: ServerResponse, u: Upstream, body: string) => {
      seen.push({ name, method: req.method!, body, type: req.headers['content-type'], replayHeader: 'x-beacon-replay-body' in req.headers });
      res.writeHead(u.status).end(name);
    };
    const bad = await upstream('bad', echo('bad'));
    bad.status = 503;
    const good = await upstream('good', echo('good'));
    const c = client(
      {
        web: [
          { id: 'a-bad', address: '127.0.0.1', port: bad.port },
          { id: 'b-good', address: '127.0.0.1', port: good.port },
        ],
      },
      { passiveHealth: false },
    );
    const bodies: Array<[string, () => string | Uint8Array | ArrayBuffer | URLSearchParams, string]> = [
      ['PUT', () => 'text', 'text'],
      ['PUT', () => Buffer.from('buffer'), 'buffer'],
      ['DELETE', () => new TextEncoder().encode('uint8array'), 'uint8array'],
      ['PUT', () => new TextEncoder().encode('arraybuffer').buffer, 'arraybuffer'],
      ['PUT', () => new URLSearchParams({ a: '1', b: 'two words' }), 'a=1&b=two+words'],
    ];
    for (const [method, body, expected] of bodies) {
      // Round robin over two: one call of each pair starts on the failing instance.
      for (let i = 0; i < 2; i++) {
        seen.length = 0;
        const res = await c.fetch('http://web/', { method, body: body() });
        expect(res.status, `${method} ${expected}`).toBe(200);
        expect(await res.text()).toBe('good');
        const last = seen.at(-1)!;
        expect(last).toMatchObject({ name: 'good', method, body: expected, replayHeader: false });
        for (const s of seen) expect(s.body).toBe(expected);
      }
    }
    expect(seen.every((s) => !s.replayHeader)).toBe(true);
    expect(bad.hits).toBeGreaterThanOrEqual(bodies.length);
    // URLSearchParams keeps fetch's content type.
    seen.length = 0;
    await (await c.fetch('http://web/', { method: 'PUT', body: new URLSearchParams({ x: 'y' }) })).text();
    expect(seen.at(-1)!.type).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    for (let i = 0; i < 2; i++) {
      const res = await request('http://web/', { method: 'PUT', body: 'x', dispatcher: c.dispatcher });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
  });

  it('does not retry a stream body (sent once), nor a POST, nor with retries: 0', async () => {
    const bad = await upstream('bad');
    bad.status = 503;
    const good = await upstream('good');
    const c = client(
      {
        web: [
          { id: 'a-bad', address: '127.0.0.1', port: bad.port },
          { id: 'b-good', address: '127.0.0.1', port: good.port },
        ],
      },
      { passiveHealth: false },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const stream = new ReadableStream({
        start(ctl) {
          ctl.enqueue(new TextEncoder().encode('streamed'));
          ctl.close();
        },
      });
      const res = await c.fetch('http://web/', { method: 'PUT', body: stream, duplex: 'half' });
      statuses.push(res.status);
      await res.text();
    }
    for (let i = 0; i < 4; i++) {
      const res = await c.fetch('http://web/', { method: 'POST', body: 'x' });
      statuses.push(res.status);
      await res.text();
    }
    const c0 = client(
      {
        web: [
          { id: 'a-bad', address: '127.0.0.1', port: bad.port },
          { id: 'b-good', address: '127.0.0.1', port: good.port },
        ],
      },
      { passiveHealth: false, retries: 0 },
    );
    for (let i = 0; i < 4; i++) {
      const res = await c0.fetch('http://web/', { method: 'PUT', body: 'x' });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses.filter((s) => s === 503)).toHaveLength(6);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
  });

  it('hands back the last failure when every instance fails', async () => {
    const x = await upstream('x');
    const y = await upstream('y');
    x.status = 500;
    y.status = 502;
    const c = client({ web: [`127.0.0.1:${x.port}`, `127.0.0.1:${y.port}`] }, { passiveHealth: false });
    const res = await c.fetch('http://web/');
    expect([500, 502]).toContain(res.status);
    expect(x.hits + y.hits).toBe(2);
    const d1 = await deadPort();
    const c2 = client({ down: [`127.0.0.1:${d1}`] });
    await expect(c2.fetch('http://down/')).rejects.toThrow();
  });

  it('rejects with BEACON_ERR_NO_INSTANCES for a service without instances', async () => {
    const c = client({ empty: [] });
    const err = await c.fetch('http://empty/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(((err as Error).cause as { code?: string }).code).toBe('BEACON_ERR_NO_INSTANCES');
    await expect(request('http://empty/', { dispatcher: c.dispatcher })).rejects.toMatchObject({ code: 'BEACON_ERR_NO_INSTANCES' });
  });

  it('keeps a hash key on one instance with consistent-hash', async () => {
    const ups = await Promise.all(['a', 'b', 'c', 'd'].map((n) => upstream(n)));
    const c = client({ web: ups.map((u) => `127.0.0.1:${u.port}`) }, { strategy: 'consistent-hash' });
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await (await c.fetch('http://web/', { headers: { 'x-beacon-hash-key': 'user-7' } })).text());
    expect(seen.size).toBe(1);
  });

  it('works with undici.request and honours aborts', async () => {
    const slow = await upstream('slow', (_req, res) => setTimeout(() => res.end('late'), 2_000));
    const c = client({ web: [`127.0.0.1:${slow.port}`] });
    const ac = new AbortController();
    const p = request('http://web/', { dispatcher: c.dispatcher, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toThrow();
    const fast = await upstream('fast');
    const c2 = client({ web: [`127.0.0.1:${fast.port}`] });
    const res = await request('http://web/r', { dispatcher: c2.dispatcher });
    expect(await res.body.text()).toBe('fast GET /r');
  });

  it('ejects an upstream that starts failing and takes it back after the cool-down', async () => {
    const ups = await Promise.all(['a', 'b', 'c', 'd'].map((n) => upstream(n)));
    const c = client(
      { web: ups.map((u, i) => ({ id: `w${i}`, address: '127.0.0.1', port: u.port })) },
      { passiveHealth: { consecutiveFailures: 2, baseEjectionMs: 300 }, retries: 0 },
    );
    ups[0].status = 500;
    for (let i = 0; i < 12; i++) await (await c.fetch('http://web/')).text();
    const hitsWhileEjected = ups[0].hits;
    for (let i = 0; i < 12; i++) await (await c.fetch('http://web/')).text();
    expect(ups[0].hits).toBe(hitsWhileEjected);
    ups[0].status = 200;
    await new Promise((r) => setTimeout(r, 400));
    for (let i = 0; i < 12; i++) await (await c.fetch('http://web/')).text();
    expect(ups[0].hits).toBeGreaterThan(hitsWhileEjected);
  });
});
