/**
 * `beacon agent` end to end: one server process and two agent processes on loopback, shared by
 * every test of this file (they run in order and build on each other).
 */
import { createServer, type Server } from 'node:http';
import { execFile } from 'node:child_process';
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startAgent, type RunningAgentProc } from '../helpers/agent.js';
import { BEACON_BIN, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { freePort } from '../helpers/tools.js';
import { dig, ensureDig } from '../helpers/dns-dig.js';

const run = promisify(execFile);

interface Entry {
  Node: { Node: string };
  Service: { ID: string; Service: string };
  Checks: Array<{ CheckID: string; Status: string }>;
}

async function get(base: string, path: string): Promise<{ status: number; headers: Headers; text: string; json<T>(): T }> {
  const res = await fetch(base + path);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
}

async function put(base: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

/** Polls `probe` until it returns a value (not undefined), every 100 ms, at most `ms`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

const ids = (list: Entry[]): string[] => list.map((e) => e.Service.ID).sort();
const checkOf = (list: Entry[], id: string, checkId: string) => list.find((e) => e.Service.ID === id)?.Checks.find((c) => c.CheckID === checkId)?.Status;

let server: RunningServer;
let serverPort: number;
let serverData: string;
let a: RunningAgentProc;
let b: RunningAgentProc;
let aData: string;
let configDir: string;
let target: Server;
let targetUrl: string;
let targetHealthy = true;

beforeAll(async () => {
  ensureDig();
  serverPort = await freePort();
  serverData = tempDir('beacon-agent-srv-');
  aData = tempDir('beacon-agent-a-');
  configDir = tempDir('beacon-agent-cfg-');
  target = createServer((_req, res) => {
    res.writeHead(targetHealthy ? 200 : 500);
    res.end(targetHealthy ? 'ok' : 'broken');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}/health`;
  writeFileSync(join(configDir, 'api.json'), JSON.stringify({ service: { Name: 'api', ID: 'api1', Port: 9001, Check: { TTL: '60s', Status: 'passing' } } }));
  server = await startServer({ dataDir: serverData, httpAddr: `127.0.0.1:${serverPort}`, dnsAddr: 'off', args: ['--node', 'srv-1'] });
  const servers = [server.httpUrl];
  // Agent B's first --server answers nothing: it fails over to the second.
  const dead = `http://127.0.0.1:${await freePort()}`;
  [a, b] = await Promise.all([
    startAgent({ servers, node: 'host-a', dataDir: aData, configDir, args: ['--session-ttl', '2s'] }),
    startAgent({ servers: [dead, server.httpUrl], node: 'host-b', args: ['--session-ttl', '2s'] }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await server?.stop({ keepData: true });
  await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
  for (const d of [serverData, aData, configDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('beacon agent', () => {
  it('a service registered on agent A is found through agent B, answered from its cache', async () => {
    const reg = await put(a.httpUrl, '/v1/agent/service/register', {
      Name: 'web',
      ID: 'web1',
      Port: 8080,
      Checks: [
        { CheckID: 'web1-ttl', TTL: '60s', Status: 'passing' },
        { CheckID: 'web1-http', HTTP: targetUrl, Interval: '1s', Status: 'passing' },
      ],
    });
    expect(reg.status).toBe(200);
    const found = await until('web on agent B', async () => {
      const r = await get(b.httpUrl, '/v1/health/service/web?passing');
      const list = r.json<Entry[]>();
      return list.length === 1 ? r : undefined;
    });
    expect(found.json<Entry[]>()[0].Node.Node).toBe('host-a');
    const self = (await get(b.httpUrl, '/v1/agent/self')).json<{ Stats: { agent: { server: string; connected: string } } }>();
    expect(self.Stats.agent).toMatchObject({ server: server.httpUrl, connected: 'true' });
    expect(found.headers.get('x-consul-knownleader')).toBe('true');
    expect(Number(found.headers.get('x-consul-index'))).toBeGreaterThan(0);
    // The same read again (the query in another order) is a hit of the same entry.
    const again = await get(b.httpUrl, '/v1/health/service/web?passing=');
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.headers.get('age')).toBe('0');
    // The same answer, unless the data moved in between (the HTTP check's first output lands
    // once its first run is done): then a newer index.
    if (again.headers.get('x-consul-index') === found.headers.get('x-consul-index')) expect(again.text).toBe(found.text);
    else expect(Number(again.headers.get('x-consul-index'))).toBeGreaterThan(Number(found.headers.get('x-consul-index')));
    // The config dir's service is registered too, and a new read is a MISS first.
    const api = await until('api from the config dir', async () => {
      const r = await get(b.httpUrl, '/v1/catalog/service/api');
      return r.json<unknown[]>().length === 1 ? r : undefined;
    });
    expect(['MISS', 'HIT']).toContain(api.headers.get('x-cache'));
    const miss = await get(b.httpUrl, '/v1/catalog/service/never-registered?tag=x');
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(miss.json<unknown[]>()).toEqual([]);
    // Agent A lists what it owns; the catalog shows its node with its address.
    const own = await get(a.httpUrl, '/v1/agent/services');
    expect(Object.keys(own.json<Record<string, unknown>>()).sort()).toEqual(['api1', 'web1']);
    // And by DNS on agent B, from the same cache: SRV with agent A's node as the target, and A.
    const srv = await until('web.service.consul SRV on agent B', async () => {
      const r = await dig(b.dnsPort, ['web.service.consul', 'SRV']);
      return r.answer.length === 1 ? r : undefined;
    });
    expect(srv.status).toBe('NOERROR');
    expect(srv.answer[0].data).toBe('1 1 8080 host-a.node.dc1.consul.');
    expect(srv.additional.find((r) => r.type === 'A')?.data).toBe('127.0.0.1');
    const aRec = await dig(b.dnsPort, ['WEB.service.consul', 'A']);
    expect(aRec.answer.map((r) => r.data)).toEqual(['127.0.0.1']);
    expect((await dig(b.dnsPort, ['no-such-service.service.consul', 'A'])).status).toBe('NXDOMAIN');
    expect((await dig(b.dnsPort, ['host-a.node.consul', 'A'])).answer.map((r) => r.data)).toEqual(['127.0.0.1']);
    // Members: the server and both agents, alive; through agent B too, and with `beacon members`.
    const members = (await get(b.httpUrl, '/v1/agent/members')).json<Array<{ Name: string; Status: number; Tags: { role: string } }>>();
    expect(members.map((m) => [m.Name, m.Status, m.Tags.role]).sort()).toEqual([
      ['host-a', 1, 'node'],
      ['host-b', 1, 'node'],
      ['srv-1', 1, 'consul'],
    ]);
    const cli = await run(process.execPath, [BEACON_BIN, 'members', '--http-addr', b.httpAddr]);
    expect(cli.stdout).toMatch(/host-a\s+127\.0\.0\.1:8301\s+alive\s+client/);
    const nodes = await get(server.httpUrl, '/v1/catalog/nodes');
    expect(nodes.json<Array<{ Node: string; Address: string }>>().map((n) => n.Node)).toEqual(expect.arrayContaining(['host-a', 'host-b', 'srv-1']));
  });

  it('a blocking query on agent B wakes when a check on agent A changes; writes and ?consistent go upstream', async () => {
    const first = await get(b.httpUrl, '/v1/health/service/web');
    const index = first.headers.get('x-consul-index');
    const blocked = get(b.httpUrl, `/v1/health/service/web?index=${index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 200));
    expect((await put(a.httpUrl, '/v1/agent/check/fail/web1-ttl?note=down')).status).toBe(200);
    let woke = await blocked;
    expect(Number(woke.headers.get('x-consul-index'))).toBeGreaterThan(Number(index));
    // Another change (a check's output) may wake it first: block again from each answer's index
    // until the failed TTL shows (bounded).
    for (let i = 0; i < 10 && checkOf(woke.json<Entry[]>(), 'web1', 'web1-ttl') !== 'critical'; i++) {
      woke = await get(b.httpUrl, `/v1/health/service/web?index=${woke.headers.get('x-consul-index')}&wait=30s`);
    }
    expect(checkOf(woke.json<Entry[]>(), 'web1', 'web1-ttl')).toBe('critical');
    expect((await get(b.httpUrl, '/v1/health/service/web?passing')).json<Entry[]>()).toEqual([]);
    // DNS on agent B drops the critical instance at once (its cached answer was invalidated).
    expect((await dig(b.dnsPort, ['web.service.consul', 'SRV'])).answer).toEqual([]);
    expect((await put(a.httpUrl, '/v1/agent/check/pass/web1-ttl')).status).toBe(200);
    await until('web passing again', async () => ((await get(b.httpUrl, '/v1/health/service/web?passing')).json<Entry[]>().length === 1 ? true : undefined));
    // ?consistent is not answered from the cache.
    const consistent = await get(b.httpUrl, '/v1/health/service/web?consistent');
    expect(consistent.status).toBe(200);
    expect(consistent.headers.get('x-cache')).toBeNull();
    // Bad input on the agent API names the field and changes nothing.
    const bad = await put(a.httpUrl, '/v1/agent/service/register', { Name: 'bad', Port: 'eighty' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/Port/);
    expect(Object.keys((await get(a.httpUrl, '/v1/agent/services')).json<Record<string, unknown>>())).not.toContain('bad');
    const badIndex = await get(b.httpUrl, '/v1/health/service/web?index=abc');
    expect(badIndex.status).toBe(400);
  });

  it('repairs a deregistration in the catalog of a service the agent still owns', async () => {
    expect((await put(server.httpUrl, '/v1/catalog/deregister', { Node: 'host-a', ServiceID: 'web1' })).status).toBe(200);
    const back = await until('web1 back in the catalog', async () => {
      const list = (await get(server.httpUrl, '/v1/health/service/web')).json<Entry[]>();
      return list.length === 1 && list[0].Checks.length === 3 ? list : undefined;
    });
    expect(checkOf(back, 'web1', 'web1-ttl')).toBe('passing');
  });

  it('a config-dir edit plus SIGHUP adds and removes services; a broken file changes nothing', async () => {
    writeFileSync(join(configDir, 'db.json'), JSON.stringify({ services: [{ Name: 'db', ID: 'db1', Port: 5432 }] }));
    unlinkSync(join(configDir, 'api.json'));
    a.proc.kill('SIGHUP');
    await until('db added and api removed', async () => {
      const services = Object.keys((await get(server.httpUrl, '/v1/catalog/services')).json<Record<string, unknown>>());
      return services.includes('db') && !services.includes('api') ? true : undefined;
    });
    writeFileSync(join(configDir, 'zz-broken.json'), JSON.stringify({ service: { Name: 'cache', Port: 'not-a-port' } }));
    writeFileSync(join(configDir, 'cache2.json'), JSON.stringify({ service: { Name: 'cache2', Port: 6379 } }));
    const reload = await run(process.execPath, [BEACON_BIN, 'reload', '--http-addr', a.httpAddr]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(reload.code).toBe(1);
    expect(reload.stderr).toContain(join(configDir, 'zz-broken.json'));
    expect(reload.stderr).toMatch(/Port/);
    const own = Object.keys((await get(a.httpUrl, '/v1/agent/services')).json<Record<string, unknown>>()).sort();
    expect(own).toEqual(['db1', 'web1']);
    unlinkSync(join(configDir, 'zz-broken.json'));
    unlinkSync(join(configDir, 'cache2.json'));
  });

  it('the server refuses bad stream messages with an error naming the field', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${serverPort}/v1/beacon/agent/stream`);
    const replies: Array<{ op: string; code?: string; field?: string; id?: number; seq?: number }> = [];
    ws.on('message', (d: Buffer) => replies.push(JSON.parse(d.toString()) as { op: string; code?: string; field?: string; id?: number; seq?: number }));
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send('not json');
    ws.send(JSON.stringify({ op: 'watch', id: 1, path: '/v1/agent/self', index: 0 }));
    ws.send(JSON.stringify({ op: 'sync', seq: 1, services: [], checks: [] }));
    ws.send(JSON.stringify({ op: 'hello', v: 1, node: { Node: 'srv-1', Address: '127.0.0.1' }, ttl: 10 }));
    await until('four errors', () => Promise.resolve(replies.length >= 4 ? true : undefined), 10_000);
    expect(replies.every((r) => r.op === 'error' && r.code === 'BEACON_ERR_AGENT_PROTOCOL')).toBe(true);
    expect(replies.map((r) => r.field)).toEqual(['message', 'path', 'op', 'node.Node']);
    // A sync whose service the catalog's rules refuse writes nothing and names the field.
    replies.length = 0;
    ws.send(JSON.stringify({ op: 'hello', v: 1, node: { Node: 'sim-bad', Address: '127.0.0.1' }, ttl: 10 }));
    ws.send(JSON.stringify({ op: 'sync', seq: 7, services: [{ service: { Service: 'x', Port: 'eighty' }, checks: [] }], checks: [] }));
    await until('the sync refused', () => Promise.resolve(replies.some((r) => r.op === 'error') ? true : undefined), 10_000);
    const refusedSync = replies.find((r) => r.op === 'error') as { seq?: number; code?: string; field?: string };
    expect(refusedSync).toMatchObject({ seq: 7, code: 'BEACON_ERR_VALIDATION', field: 'services[0].service.Port' });
    expect((await get(server.httpUrl, '/v1/catalog/node/sim-bad')).json<unknown>()).toBeNull();
    // At most 10,000 watches on one connection.
    replies.length = 0;
    for (let id = 1; id <= 10_001; id++) ws.send(JSON.stringify({ op: 'watch', id, path: '/v1/catalog/datacenters', index: 0 }));
    await until('the watch over the limit refused', () => Promise.resolve(replies.some((r) => r.op === 'error') ? true : undefined), 20_000);
    expect(replies.filter((r) => r.op === 'error')).toEqual([expect.objectContaining({ id: 10_001, code: 'BEACON_ERR_AGENT_PROTOCOL', field: 'id' })]);
    ws.close();
  });

  it('with the server down, both agents answer from cache and keep running checks; statuses sync on return', async () => {
    await server.stop({ keepData: true });
    const stale = await until('agent B to notice', async () => {
      const r = await get(b.httpUrl, '/v1/health/service/web');
      return r.headers.get('x-consul-knownleader') === 'false' ? r : undefined;
    });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('HIT');
    expect(ids(stale.json<Entry[]>())).toEqual(['web1']);
    expect((await dig(b.dnsPort, ['web.service.consul', 'SRV'])).answer.map((r) => r.data)).toEqual(['1 1 8080 host-a.node.dc1.consul.']);
    const c1 = Number(stale.headers.get('x-consul-lastcontact'));
    await new Promise((r) => setTimeout(r, 1100));
    const later = await get(b.httpUrl, '/v1/health/service/web');
    expect(Number(later.headers.get('x-consul-lastcontact'))).toBeGreaterThan(c1);
    expect(Number(later.headers.get('age'))).toBeGreaterThanOrEqual(1);
    // A read that was never cached cannot be answered, and says why.
    const never = await get(b.httpUrl, '/v1/catalog/service/nothing-cached-here');
    expect(never.status).toBe(503);
    // Agent A keeps running its HTTP check: it turns critical there.
    targetHealthy = false;
    await until('the HTTP check critical on agent A', async () => {
      const checks = (await get(a.httpUrl, '/v1/agent/checks')).json<Record<string, { Status: string }>>();
      return checks['web1-http']?.Status === 'critical' ? true : undefined;
    });
    // A registration on agent A while no server answers is taken, and sent when one does.
    expect((await put(a.httpUrl, '/v1/agent/service/register', { Name: 'late', ID: 'late1', Port: 7000 })).status).toBe(200);
    server = await startServer({ dataDir: serverData, httpAddr: `127.0.0.1:${serverPort}`, dnsAddr: 'off', args: ['--node', 'srv-1'] });
    await until('late registered in the catalog', async () =>
      (await get(server.httpUrl, '/v1/catalog/service/late')).json<unknown[]>().length === 1 ? true : undefined,
    );
    expect((await put(a.httpUrl, '/v1/agent/service/deregister/late1')).status).toBe(200);
    const synced = await until('the critical status in the catalog', async () => {
      const list = (await get(server.httpUrl, '/v1/health/service/web')).json<Entry[]>();
      return checkOf(list, 'web1', 'web1-http') === 'critical' ? list : undefined;
    });
    expect(checkOf(synced, 'web1', 'web1-ttl')).toBe('passing');
    await until('agent B connected again', async () =>
      (await get(b.httpUrl, '/v1/health/service/web')).headers.get('x-consul-knownleader') === 'true' ? true : undefined,
    );
    targetHealthy = true;
    await until('web passing again through agent B', async () =>
      (await get(b.httpUrl, '/v1/health/service/web?passing')).json<Entry[]>().length === 1 ? true : undefined,
    );
  });

  it('kill -9 agent A: its services go critical; restarted, they come back with nothing registered again', async () => {
    // After the server's restart, agent A's node may have been critical for a moment (its old
    // session lapsed before it reconnected): start from A connected and web passing.
    await until('agent A connected and web passing', async () => {
      const self = (await get(a.httpUrl, '/v1/agent/self')).json<{ Stats: { agent: { connected: string } } }>();
      if (self.Stats.agent.connected !== 'true') return undefined;
      return (await get(b.httpUrl, '/v1/health/service/web?passing')).json<Entry[]>().length === 1 ? true : undefined;
    });
    await a.kill();
    await until('web out of ?passing', async () => ((await get(b.httpUrl, '/v1/health/service/web?passing')).json<Entry[]>().length === 0 ? true : undefined));
    expect((await dig(b.dnsPort, ['web.service.consul', 'SRV'])).answer).toEqual([]);
    // The node's session lapses --session-ttl after the kill: serfHealth turns critical then.
    await until('serfHealth of host-a critical', async () => {
      const dead = (await get(server.httpUrl, '/v1/health/node/host-a')).json<Array<{ CheckID: string; Status: string }>>();
      return dead.find((c) => c.CheckID === 'serfHealth')?.Status === 'critical' ? true : undefined;
    });
    await until('host-a failed in members', async () => {
      const members = (await get(server.httpUrl, '/v1/agent/members')).json<Array<{ Name: string; Status: number }>>();
      return members.find((m) => m.Name === 'host-a')?.Status === 4 ? true : undefined;
    });
    a = await startAgent({ servers: [server.httpUrl], node: 'host-a', dataDir: aData, configDir, args: ['--session-ttl', '2s'] });
    const own = Object.keys((await get(a.httpUrl, '/v1/agent/services')).json<Record<string, unknown>>()).sort();
    expect(own).toEqual(['db1', 'web1']);
    const back = await until('web passing again', async () => {
      const list = (await get(b.httpUrl, '/v1/health/service/web?passing')).json<Entry[]>();
      return list.length === 1 ? list : undefined;
    });
    expect(back[0].Node.Node).toBe('host-a');
  });
});
