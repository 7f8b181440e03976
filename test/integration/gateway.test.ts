/**
 * `beacon gateway` end to end: a real Beacon server process, a real gateway process, real HTTP
 * upstreams (in this process, and in child processes where a test kills one with SIGKILL) and a
 * real WebSocket client and server. Processes are shared by the whole file.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import pino from 'pino';
import { buildGatewayConfig, runGateway, type RunningGateway } from '../../src/gateway/index.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { runBeacon, startBeaconProc, startUpstreamProc, waitFor, type RunningProc, type UpstreamProc } from '../helpers/gateway.js';

interface Upstream {
  name: string;
  server: Server;
  port: number;
  hits: number;
  headers: IncomingHttpHeaders[];
}

let beacon: RunningServer;
let gw: RunningProc;
let dir: string;
let routesFile: string;
let gwUrl: string;
let adminUrl: string;
const upstreams: Upstream[] = [];
const procs: UpstreamProc[] = [];
const agent = new Agent({ keepAliveTimeout: 2_000 });

type Handler = (u: Upstream, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
const answerName: Handler = (u, req, res) => {
  req.resume();
  req.on('end', () => res.end(`${u.name} ${req.url}`));
};

async function upstream(name: string, handler: Handler = answerName): Promise<Upstream> {
  const u = { name, hits: 0, headers: [] } as unknown as Upstream;
  u.server = createServer((req, res) => {
    u.hits += 1;
    u.headers.push(req.headers);
    handler(u, req, res);
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.port = (u.server.address() as AddressInfo).port;
  upstreams.push(u);
  return u;
}

async function put(path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${beacon.httpUrl}${path}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
  expect(r.status, `${path}: ${await r.text()}`).toBe(200);
}

async function register(service: string, id: string, port: number, extra: Record<string, unknown> = {}): Promise<void> {
  await put('/v1/agent/service/register', { Name: service, ID: id, Address: '127.0.0.1', Port: port, ...extra });
}

async function get(
  path: string,
  host?: string,
  init: { method?: string; body?: string } = {},
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const res = await request(`${gwUrl}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    body: init.body,
    headers: host ? { host } : {},
    dispatcher: agent,
  });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

function writeRoutes(routes: unknown): void {
  writeFileSync(routesFile, JSON.stringify({ routes }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'beacon-gateway-'));
  routesFile = join(dir, 'routes.json');
  writeRoutes([
    { prefix: '/shop', service: 'shop', strip: true },
    { prefix: '/conflict', service: 'filewins' },
  ]);
  beacon = await startServer({ dnsAddr: 'off' });
  const webA = await upstream('web-a');
  const webB = await upstream('web-b');
  await register('web', 'web-a', webA.port, { Tags: ['v1'] });
  await register('web', 'web-b', webB.port, { Tags: ['v2'] });
  await register('shop', 'shop-1', (await upstream('shop-1')).port);
  await register('filewins', 'fw-1', (await upstream('fw-1')).port);
  await register('tagged', 'tg-1', (await upstream('tg-1')).port, { Tags: ['urlprefix-/conflict', 'urlprefix-/conflict/deep strip=/conflict/deep'] });
  // A service whose only instance is critical: a TTL check that never passes.
  await register('dead', 'dead-1', (await upstream('dead-1')).port, { Check: { TTL: '30s' } });
  gw = await startBeaconProc('gateway', [
    '--listen',
    '127.0.0.1:0',
    '--server',
    beacon.httpUrl,
    '--admin',
    '127.0.0.1:0',
    '--routes',
    routesFile,
    '--access-log',
    '--try-timeout',
    '3s',
    '--shutdown-grace',
    '10s',
  ]);
  gwUrl = `http://${gw.ready.listen}`;
  adminUrl = `http://${gw.ready.admin}`;
}, 60_000);

afterAll(async () => {
  await gw?.stop('SIGKILL');
  for (const p of procs) await p.kill();
  for (const u of upstreams) {
    u.server.closeAllConnections();
    await new Promise((r) => u.server.close(r));
  }
  await agent.close();
  await beacon?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('beacon gateway', () => {
  it('routes by Host: <svc>.service.consul, any case, with a port, with a tag, with a datacenter', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await get('/x?y=1', 'WEB.Service.Consul:8080')).body);
    expect(seen).toEqual(new Set(['web-a /x?y=1', 'web-b /x?y=1']));
    for (let i = 0; i < 5; i++) expect((await get('/t', 'v2.web.service.consul')).body).toBe('web-b /t');
    expect((await get('/dc', 'v1.web.service.dc1.consul')).body).toBe('web-a /dc');
    expect((await get('/', 'web.service.consul.')).status).toBe(200);
  });

  it('sets X-Forwarded-For, -Proto and -Host and keeps Host', async () => {
    const shop = upstreams.find((u) => u.name === 'shop-1')!;
    const before = shop.headers.length;
    const r = await get('/shop/cart', 'shop.example.com');
    expect(r).toMatchObject({ status: 200, body: 'shop-1 /cart' });
    const h = shop.headers[before];
    expect(h).toMatchObject({ host: 'shop.example.com', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'shop.example.com' });
  });

  it('routes by the routes file (prefix, strip) and by urlprefix- tags, with the conflict rule shown on /routes', async () => {
    expect((await get('/shop')).body).toBe('shop-1 /');
    expect((await get('/shopping')).status).toBe(404);
    // Same prefix in the routes file and in a tag: the file wins; a longer tag prefix wins over both.
    expect((await get('/conflict/x')).body).toBe('fw-1 /conflict/x');
    expect((await get('/conflict/deep/y')).body).toBe('tg-1 /y');
    const routes = (await (await fetch(`${adminUrl}/routes`)).json()) as { rule: string; routes: Array<Record<string, unknown>> };
    expect(routes.rule).toContain('longest prefix');
    expect(routes.routes.map((r) => [r.id, r.service, r.source, r.shadowed])).toEqual([
      ['/conflict/deep', 'tagged', 'tag', false],
      ['/conflict', 'filewins', 'file', false],
      ['/conflict', 'tagged', 'tag', true],
      ['/shop', 'shop', 'file', false],
    ]);
  });

  it('makes a newly tagged service reachable with no gateway configuration', async () => {
    const u = await upstream('fresh-1');
    expect((await get('/fresh/a')).status).toBe(404);
    await register('fresh', 'fresh-1', u.port, { Tags: ['urlprefix-/fresh'] });
    await waitFor('the urlprefix route', async () => (await get('/fresh/a')).status === 200);
    expect((await get('/fresh/a')).body).toBe('fresh-1 /fresh/a');
  });

  it('answers 404 for an unknown service or path and 503 for a service with no healthy instance, in Beacon error JSON', async () => {
    const unknown = await get('/', 'nope.service.consul');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toEqual({ code: 'BEACON_ERR_GATEWAY_NO_ROUTE', message: 'Unknown service nope' });
    expect(unknown.headers['x-beacon-error']).toBe('BEACON_ERR_GATEWAY_NO_ROUTE');
    // A made-up tag or datacenter in a Host: 404, and nothing starts watching it.
    expect(JSON.parse((await get('/', 'nosuchtag.web.service.consul')).body)).toEqual({
      code: 'BEACON_ERR_GATEWAY_NO_ROUTE',
      message: 'Unknown service web (tag nosuchtag): no instance has the tag',
    });
    expect(JSON.parse((await get('/', 'web.service.nodc.consul')).body)).toEqual({
      code: 'BEACON_ERR_GATEWAY_NO_ROUTE',
      message: 'Unknown datacenter nodc (service web)',
    });
    const watched = (await (await fetch(`${adminUrl}/upstreams`)).json()) as Array<{ tags: string[]; dc: string | null }>;
    expect(watched.filter((u) => u.tags.includes('nosuchtag') || u.dc === 'nodc')).toEqual([]);
    const noRoute = await get('/nowhere', 'example.com');
    expect(JSON.parse(noRoute.body)).toEqual({ code: 'BEACON_ERR_GATEWAY_NO_ROUTE', message: 'No route for host example.com path /nowhere' });
    const dead = await get('/', 'dead.service.consul');
    expect(dead.status).toBe(503);
    expect(JSON.parse(dead.body)).toEqual({ code: 'BEACON_ERR_GATEWAY_NO_INSTANCES', message: 'Service dead: no healthy instance' });
    expect(upstreams.find((u) => u.name === 'dead-1')!.hits).toBe(0);
  });

  it('stops sending to a deregistered instance and to one whose check turns critical', async () => {
    const ups = [await upstream('h-a'), await upstream('h-b'), await upstream('h-c')];
    for (const u of ups) await register('hl', u.name, u.port, { Check: { TTL: '60s' } });
    for (const u of ups) await put(`/v1/agent/check/pass/service:${u.name}`);
    await waitFor('all three instances in rotation', async () => {
      for (let i = 0; i < 10; i++) await get('/', 'hl.service.consul');
      return ups.every((u) => u.hits > 0);
    });
    await put('/v1/agent/service/deregister/h-a');
    await put('/v1/agent/check/fail/service:h-b');
    // Generous bound: the watch delivers within a second on an idle machine.
    await waitFor('h-a and h-b out of rotation', async () => {
      const before = ups[0].hits + ups[1].hits;
      for (let i = 0; i < 10; i++) await get('/', 'hl.service.consul');
      return ups[0].hits + ups[1].hits === before;
    });
    const before = [ups[0].hits, ups[1].hits, ups[2].hits];
    for (let i = 0; i < 20; i++) expect((await get('/', 'hl.service.consul')).body).toBe('h-c /');
    expect([ups[0].hits, ups[1].hits, ups[2].hits]).toEqual([before[0], before[1], before[2] + 20]);
  });

  it('an instance killed during a stream of GETs costs no failed request: they are retried elsewhere', async () => {
    for (let i = 0; i < 3; i++) {
      const p = await startUpstreamProc(`k-${i}`);
      procs.push(p);
      await register('kill', p.name, p.port);
    }
    await waitFor('kill service routable', async () => (await get('/', 'kill.service.consul')).status === 200);
    const statuses = new Map<number, number>();
    const hitBy = new Set<string>();
    let sent = 0;
    let killed = false;
    const worker = async () => {
      for (let i = 0; i < 1_000 && sent < 600; i++) {
        sent += 1;
        if (!killed && sent >= 150) {
          killed = true;
          await procs[0].kill();
        }
        const r = await get(`/n/${sent}`, 'kill.service.consul');
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        hitBy.add(r.body.split(' ')[0]);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(killed).toBe(true);
    expect(hitBy).toEqual(new Set(['k-0', 'k-1', 'k-2']));
    expect([...statuses.entries()]).toEqual([[200, sent]]);
    // The dead instance was tried and the tries retried: p2c comes back to it as its latency
    // average decays, so keep sending (every answer still a 200) until the metrics show it.
    let after = 0;
    const failedAfter: number[] = [];
    await waitFor('a refused try retried elsewhere', async () => {
      const r = await get(`/after/${after++}`, 'kill.service.consul');
      if (r.status !== 200) failedAfter.push(r.status);
      const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
      return (
        /^beacon_gateway_retries_total\{service="kill"\} [1-9]/m.test(metrics) &&
        /^beacon_gateway_upstream_errors_total\{service="kill",kind="(connect_refused|reset)"\} [1-9]/m.test(metrics)
      );
    });
    expect(failedAfter).toEqual([]);
  });

  it('gives up on an instance that does not answer within --try-timeout: a GET is retried elsewhere, a POST answers 504', async () => {
    // The hanging instance reads the request and never answers.
    const hang = await upstream('hang', (_u, req) => req.resume());
    const ok = await upstream('ok');
    await register('slowpoke', 'hang', hang.port);
    await register('slowpoke', 'ok', ok.port);
    // Tagged so that /routes tells when the gateway knows it (a request would wait on the hang).
    await register('hangonly', 'hang-2', hang.port, { Tags: ['urlprefix-/hangonly'] });
    await waitFor('slowpoke routable', async () => (await get('/', 'slowpoke.service.consul')).status !== 404);
    // p2c tries an instance with no latency history before one with some: the hanging one is
    // reached by the second request at the latest.
    for (let i = 0; i < 3 && hang.hits === 0; i++) expect(await get('/g', 'slowpoke.service.consul')).toMatchObject({ status: 200, body: 'ok /g' });
    expect(hang.hits).toBeGreaterThan(0);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^beacon_gateway_upstream_errors_total\{service="slowpoke",kind="timeout"\} [1-9]/m);
    // With only the hanging instance, a POST is sent once and answers 504.
    await waitFor('hangonly known to the gateway', async () => JSON.stringify(await (await fetch(`${adminUrl}/routes`)).json()).includes('/hangonly'));
    const before = hang.hits;
    const post = await get('/p', 'hangonly.service.consul', { method: 'POST', body: 'once' });
    expect(post.status, post.body).toBe(504);
    expect(JSON.parse(post.body)).toMatchObject({ code: 'BEACON_ERR_GATEWAY_TIMEOUT' });
    expect(hang.hits).toBe(before + 1);
  });

  it('passes WebSocket upgrades through (echo)', async () => {
    const http = createServer((_req, res) => res.writeHead(426).end('websocket only'));
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${String(req.headers['x-forwarded-for'])}`);
      ws.on('message', (m: Buffer) => ws.send(`echo ${m.toString()}`));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      await register('ws', 'ws-1', (http.address() as AddressInfo).port, { Tags: ['urlprefix-/echo'] });
      await waitFor('echo route', async () => (await get('/echo')).status !== 404);
      const ws = new WebSocket(`${gwUrl.replace('http', 'ws')}/echo`);
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (m: Buffer) => {
          got.push(m.toString());
          if (got.length === 1) ws.send('ping 1');
          else if (got.length === 2) ws.send('x'.repeat(100_000));
          else {
            ws.close();
            resolve();
          }
        });
      });
      expect(got[0]).toBe('hello 127.0.0.1');
      expect(got[1]).toBe('echo ping 1');
      expect(got[2]).toBe(`echo ${'x'.repeat(100_000)}`);
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });

  it('streams bodies both ways without buffering', async () => {
    // The upstream answers its first chunk before the request body has ended.
    const u = await upstream('stream-1', (_u, req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      req.on('data', (c: Buffer) => res.write(`got ${c.length};`));
      req.on('end', () => res.end('end'));
    });
    await register('stream', 'stream-1', u.port);
    await waitFor('stream route', async () => (await get('/', 'stream.service.consul')).status === 200);
    const { PassThrough } = await import('node:stream');
    const body = new PassThrough();
    const pending = request(`${gwUrl}/up`, { method: 'PUT', headers: { host: 'stream.service.consul' }, body, dispatcher: agent });
    // The response headers and the first echoed chunk arrive while the request is still open.
    body.write('a'.repeat(10));
    const res = await pending;
    const it = res.body[Symbol.asyncIterator]();
    const first = (await it.next()) as IteratorResult<Buffer, undefined>;
    expect(String(first.value)).toBe('got 10;');
    body.end('b'.repeat(5));
    let rest = '';
    for (let r = await it.next(); !r.done; r = await it.next()) rest += (r.value as Buffer).toString();
    expect(rest).toBe('got 5;end');
  });

  it('reloads the routes file on SIGHUP and keeps the old routes when the new file is bad', async () => {
    writeRoutes([
      { prefix: '/shop', service: 'shop', strip: true },
      { prefix: '/conflict', service: 'filewins' },
      { prefix: '/store', service: 'shop' },
    ]);
    gw.proc.kill('SIGHUP');
    await waitFor('the new route', async () => (await get('/store/x')).status === 200);
    expect((await get('/store/x')).body).toBe('shop-1 /store/x');
    writeFileSync(routesFile, JSON.stringify({ routes: [{ prefix: '/only', sevice: 'shop' }] }));
    gw.proc.kill('SIGHUP');
    await waitFor('the rejection on stderr', () => gw.stderr().includes('routes[0].sevice'));
    expect(gw.stderr()).toContain(`beacon: routes file ${routesFile}: routes[0].sevice: unknown key`);
    expect(gw.stderr()).toContain('keeping the previous routes');
    expect((await get('/store/x')).status).toBe(200);
    expect((await get('/only')).status).toBe(404);
    const routes = (await (await fetch(`${adminUrl}/routes`)).json()) as { routesFile: { lastError: string } };
    expect(routes.routesFile.lastError).toContain('routes[0].sevice');
  });

  it('exports metrics by route, service and instance and writes JSON access-log lines', async () => {
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^beacon_gateway_requests_total\{route="\/shop",service="shop",instance="shop-1",code="200"\} [1-9]/m);
    expect(metrics).toMatch(/^beacon_gateway_requests_total\{route="host",service="nope",instance="",code="404"\} 1$/m);
    expect(metrics).toMatch(/^beacon_gateway_request_duration_seconds_count\{route="host",service="web",instance="web-a"\} [1-9]/m);
    expect(metrics).toMatch(/^beacon_gateway_open_connections\{listener="http"\} \d+/m);
    const lines = gw
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.route === '/shop' && l.status === 200)).toMatchObject({ method: 'GET', service: 'shop', instance: 'shop-1', tries: 1 });
    expect(lines.find((l) => l.status === 503)).toMatchObject({ service: 'dead', tries: 0 });
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const slow = await upstream('slow-1', (_u, req, res) => {
      req.resume();
      setTimeout(() => res.end('slow done'), 1_000);
    });
    await register('slow', 'slow-1', slow.port);
    await waitFor('slow route', async () => (await get('/', 'slow.service.consul')).status === 200);
    const hits = slow.hits;
    const pending = get('/work', 'slow.service.consul');
    await waitFor('the slow request to reach the upstream', () => slow.hits > hits);
    gw.proc.kill('SIGTERM');
    expect(await pending).toMatchObject({ status: 200, body: 'slow done' });
    expect(await gw.exited).toBe(0);
  });
});

describe('beacon gateway with round robin (in process, the same code)', () => {
  let rr: RunningGateway;
  let rrUrl: string;
  const rrGet = async (path: string, host: string, init: { method?: string; body?: string } = {}) => {
    const res = await request(`${rrUrl}${path}`, { method: (init.method ?? 'GET') as 'GET', body: init.body, headers: { host }, dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  };

  beforeAll(async () => {
    rr = await runGateway(buildGatewayConfig({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', server: [beacon.httpUrl], strategy: 'round-robin' }, 'gateway'), {
      log: pino({ level: 'silent' }),
    });
    rrUrl = `http://127.0.0.1:${rr.listen!.port}`;
  });
  afterAll(async () => {
    await rr?.close();
  });

  it('does not retry a POST once it was sent: the client gets 502 and the request reached one instance only', async () => {
    // The dropper reads the request, then closes the connection without an answer.
    const dropper = await upstream('dropper', (_u, req, res) => {
      req.resume();
      req.on('end', () => res.socket?.destroy());
    });
    const good = await upstream('good');
    await register('post', 'dropper', dropper.port);
    await register('post', 'good', good.port);
    await waitFor('post service routable', async () => (await rrGet('/', 'post.service.consul')).status !== 404);
    const [d0, g0] = [dropper.hits, good.hits];
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await rrGet('/charge', 'post.service.consul', { method: 'POST', body: `payment ${i}` })).status);
    const d = dropper.hits - d0;
    const g = good.hits - g0;
    expect(d + g).toBe(10);
    expect(d).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 502).length).toBe(d);
    expect(statuses.filter((s) => s === 200).length).toBe(g);
  });

  it('ejects an instance that refuses connections after failed tries in a row, shows it on /upstreams, and lets it back after its cool-down', async () => {
    // A port nothing listens on: every connection is refused.
    const closed = await upstream('closed');
    closed.server.close();
    const alive = await upstream('alive');
    await register('ejectme', 'closed', closed.port);
    await register('ejectme', 'alive', alive.port);
    await waitFor('ejectme routable', async () => (await rrGet('/', 'ejectme.service.consul')).status !== 404);
    for (let i = 0; i < 12; i++) expect(await rrGet(`/e/${i}`, 'ejectme.service.consul')).toMatchObject({ status: 200, body: `alive /e/${i}` });
    const admin = `http://127.0.0.1:${rr.admin!.port}`;
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toMatch(/^beacon_gateway_ejections_total\{service="ejectme"\} 1$/m);
    expect(metrics).toMatch(/^beacon_gateway_retries_total\{service="ejectme"\} [1-9]/m);
    const ups = (await (await fetch(`${admin}/upstreams`)).json()) as Array<{
      service: string;
      strategy: string;
      instances: Array<{ id: string; ejected: boolean }>;
    }>;
    const e = ups.find((u) => u.service === 'ejectme');
    expect(e?.strategy).toBe('round-robin');
    expect(e?.instances).toEqual([
      { id: 'alive', address: '127.0.0.1', port: alive.port, ejected: false },
      { id: 'closed', address: '127.0.0.1', port: closed.port, ejected: true },
    ]);
    // It comes back by itself after its cool-down (10 s, ±10 %) once it listens again.
    const back = createServer((req, res) => {
      req.resume();
      res.end('back');
    });
    await new Promise<void>((r) => back.listen(closed.port, '127.0.0.1', r));
    try {
      await waitFor('the ejected instance to return', async () => (await rrGet('/r', 'ejectme.service.consul')).body === 'back', 40_000);
      const after = (await (await fetch(`${admin}/upstreams`)).json()) as typeof ups;
      expect(after.find((u) => u.service === 'ejectme')?.instances.every((i) => !i.ejected)).toBe(true);
    } finally {
      back.closeAllConnections();
      await new Promise((r) => back.close(r));
    }
  }, 60_000);
});

describe('beacon gateway with least-in-flight (in process)', () => {
  it('counts a request in flight until its answer is sent: concurrent requests spread one per instance', async () => {
    const lif = await runGateway(buildGatewayConfig({ listen: '127.0.0.1:0', server: [beacon.httpUrl], strategy: 'least-in-flight' }, 'gateway'), {
      log: pino({ level: 'silent' }),
    });
    try {
      // Each instance answers its headers at once and finishes the body 1.5 s later.
      const held = (u: Upstream, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
        req.resume();
        res.writeHead(200);
        res.write(`${u.name} `);
        setTimeout(() => res.end('done'), 1_500);
      };
      const ups = [await upstream('lif-a', held), await upstream('lif-b', held), await upstream('lif-c', held)];
      for (const u of ups) await register('lif', u.name, u.port);
      const url = `http://127.0.0.1:${lif.listen!.port}`;
      const start = () => request(`${url}/`, { headers: { host: 'lif.service.consul' }, dispatcher: agent });
      await waitFor('lif routable', async () => (await (await start()).body.text()).endsWith('done'));
      const before = ups.map((u) => u.hits);
      // One after the other, each once the previous one's headers are back and its body is still
      // streaming: counted in flight until the answer is sent, they go one per instance.
      const first = await start();
      const second = await start();
      const third = await start();
      const bodies = await Promise.all([first.body.text(), second.body.text(), third.body.text()]);
      expect(bodies.every((b) => b.endsWith('done'))).toBe(true);
      expect(new Set(bodies.map((b) => b.split(' ')[0]))).toEqual(new Set(['lif-a', 'lif-b', 'lif-c']));
      expect(ups.map((u, i) => u.hits - before[i])).toEqual([1, 1, 1]);
    } finally {
      await lif.close();
    }
  });
});

describe('beacon gateway and an unreachable Beacon (in process)', () => {
  it('answers 503 naming the cause while no server answers, and fails over along --server', async () => {
    // A port nothing listens on.
    const gone = await upstream('gone');
    gone.server.close();
    const deadUrl = `http://127.0.0.1:${gone.port}`;
    const quiet = { log: pino({ level: 'silent' }) };
    const alone = await runGateway(buildGatewayConfig({ listen: '127.0.0.1:0', server: [deadUrl] }, 'gateway'), quiet);
    const both = await runGateway(buildGatewayConfig({ listen: '127.0.0.1:0', server: [deadUrl, beacon.httpUrl] }, 'gateway'), quiet);
    try {
      const via = async (gw: RunningGateway) => {
        const res = await request(`http://127.0.0.1:${gw.listen!.port}/x`, { headers: { host: 'web.service.consul' }, dispatcher: agent });
        return { status: res.statusCode, body: await res.body.text() };
      };
      const r = await via(alone);
      expect(r.status).toBe(503);
      const err = JSON.parse(r.body) as { code: string; message: string };
      expect(err.code).toBe('BEACON_ERR_GATEWAY_NO_INSTANCES');
      expect(err.message).toContain('Service web: Beacon has not answered');
      expect(err.message).toContain(deadUrl);
      expect((await via(both)).status).toBe(200);
    } finally {
      await Promise.all([alone.close(), both.close()]);
    }
  });
});

describe('beacon gateway command line', () => {
  it.each([
    [['gateway'], 'beacon: invalid --listen: required (e.g. --listen 127.0.0.1:8080)'],
    [['gateway', '--listen', 'localhost'], 'beacon: invalid --listen: "localhost" is not HOST:PORT'],
    [['gateway', '--listen', '127.0.0.1:0', '--retries', 'many'], 'beacon: invalid --retries: "many" is not an integer from 0 to 5'],
    [['gateway', '--listen', '127.0.0.1:0', '--strategy', 'fastest'], "beacon: option '--strategy <name>' argument 'fastest' is invalid"],
    [['gateway', '--listen', '127.0.0.1:0', '--lisen', 'x'], "beacon: unknown option '--lisen' (did you mean --listen?)"],
    [['sidecar'], 'beacon: invalid --upstream: at least one is required'],
    [['sidecar', '--upstream', 'db=nowhere'], 'beacon: invalid --upstream: "nowhere" is not HOST:PORT'],
  ])('%j exits 2 with one line', async (args, line) => {
    const r = await runBeacon(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(line);
  });

  it('refuses a bad routes file at start naming the file and the field (exit 2)', async () => {
    const bad = join(dir, 'bad-routes.json');
    writeFileSync(
      bad,
      JSON.stringify({
        routes: [
          { prefix: '/a', service: 'a' },
          { prefix: 'b', service: 'b' },
        ],
      }),
    );
    const r = await runBeacon(['gateway', '--listen', '127.0.0.1:0', '--server', beacon.httpUrl, '--routes', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`beacon: routes file ${bad}: routes[1].prefix: required, a path starting with "/"`);
    const missing = await runBeacon(['gateway', '--listen', '127.0.0.1:0', '--routes', join(dir, 'none.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`beacon: routes file ${join(dir, 'none.json')}: (file): no such file`);
  });
});
