/**
 * Three datacenters, each its own `beacon server` process on loopback with its own data dir:
 * dc2 joins the WAN through dc1's address and dc3 through dc2's only, so every server learns
 * the others from one address. Requests with ?dc=, DNS names of other datacenters, prepared
 * queries failing over, the SDK, and a datacenter that stops answering (SIGSTOP: its sockets
 * accept but nothing answers, the worst case) while local queries go on.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeaconClient } from '../../src/client/index.js';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { BEACON_BIN, startServer, type RunningServer } from '../helpers/server.js';

const run = promisify(execFile);
let dc1: RunningServer;
let dc2: RunningServer;
let dc3: RunningServer;
const clients: BeaconClient[] = [];

const WAN = ['--wan-interval', '200ms'];

async function call(
  s: RunningServer,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const res = await fetch(`${s.httpUrl}${path}`, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

async function ok<T>(s: RunningServer, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const r = await call(s, path, init);
  if (r.status !== 200) throw new Error(`${init.method ?? 'GET'} ${path}: ${r.status} ${r.text}`);
  return (r.text === '' ? undefined : r.json()) as T;
}

/** Polls `check` until it holds (bounded in count and time). */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, tries = 150, pauseMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`${what}: not reached after ${tries} tries${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
}

const register = (s: RunningServer, body: unknown) => ok(s, '/v1/agent/service/register', { method: 'PUT', body });

type Entry = { Node: { Node: string; Datacenter: string }; Service: { ID: string; Port: number } };
type Exec = { Service: string; Nodes: Entry[]; DNS: { TTL: string }; Datacenter: string; Failovers: number };

beforeAll(async () => {
  ensureDig();
  dc1 = await startServer({ args: ['--datacenter', 'dc1', '--node', 's1', ...WAN] });
  dc2 = await startServer({ args: ['--datacenter', 'dc2', '--node', 's2', ...WAN, '--join-wan', dc1.httpUrl] });
  dc3 = await startServer({ args: ['--datacenter', 'dc3', '--node', 's3', ...WAN, '--join-wan', `${dc2.httpHost}:${dc2.httpPort}`] });
  await register(dc2, { Name: 'web', ID: 'web-2a', Port: 8082, Tags: ['v1'] });
  await register(dc1, { Name: 'pay', ID: 'pay-1', Port: 9001, Check: { TTL: '60s', Status: 'passing' } });
  await register(dc2, { Name: 'pay', ID: 'pay-2', Port: 9002 });
  await register(dc1, { Name: 'local-only', ID: 'lo-1', Port: 7001 });
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const s of [dc1, dc2, dc3]) s?.proc.kill('SIGCONT');
  await Promise.allSettled([dc1, dc2, dc3].map((s) => s?.stop()));
});

describe('joining', () => {
  it('every server lists every datacenter after joining through one address, its own first', async () => {
    for (const [s, own] of [
      [dc1, 'dc1'],
      [dc2, 'dc2'],
      [dc3, 'dc3'],
    ] as const) {
      const dcs = await until(`${own} knows 3 datacenters`, async () => {
        const list = await ok<string[]>(s, '/v1/catalog/datacenters');
        return list.length === 3 ? list : undefined;
      });
      expect(dcs[0]).toBe(own);
      expect([...dcs].sort()).toEqual(['dc1', 'dc2', 'dc3']);
    }
  });

  it('agent/members?wan=1 and `beacon members -wan` show every server as <node>.<dc>', async () => {
    const members = await until('dc1 sees 3 alive WAN members', async () => {
      const m = await ok<{ Name: string; Status: number; Tags: Record<string, string> }[]>(dc1, '/v1/agent/members?wan=1');
      return m.length === 3 && m.every((x) => x.Status === 1) ? m : undefined;
    });
    expect(members.map((m) => m.Name).sort()).toEqual(['s1.dc1', 's2.dc2', 's3.dc3']);
    expect(members.find((m) => m.Name === 's2.dc2')?.Tags).toMatchObject({ role: 'consul', dc: 'dc2' });
    const lan = await ok<{ Name: string }[]>(dc1, '/v1/agent/members');
    expect(lan.map((m) => m.Name)).toEqual(['s1']);
    const { stdout } = await run(process.execPath, [BEACON_BIN, 'members', '-wan', '--http-addr', `${dc1.httpHost}:${dc1.httpPort}`]);
    for (const name of ['s1.dc1', 's2.dc2', 's3.dc3']) expect(stdout).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\s.*alive\\s+server`, 'm'));
  });
});

describe('forwarding ?dc=', () => {
  it("answers another datacenter's reads with its data and its X-Consul-Index", async () => {
    const remote = await call(dc1, '/v1/health/service/web?dc=dc2');
    expect(remote.status).toBe(200);
    const entries = remote.json() as Entry[];
    expect(entries.map((e) => [e.Service.ID, e.Node.Datacenter])).toEqual([['web-2a', 'dc2']]);
    const direct = await call(dc2, '/v1/health/service/web');
    expect(remote.headers.get('x-consul-index')).toBe(direct.headers.get('x-consul-index'));
    // Beacon's pick route is a read too.
    const pick = await call(dc1, '/v1/beacon/pick/web?dc=dc2');
    expect([pick.status, pick.text]).toEqual([200, expect.stringContaining('8082')]);
    // The local datacenter named explicitly stays local; there is no web here.
    expect(await ok<unknown[]>(dc1, '/v1/health/service/web?dc=dc1')).toEqual([]);
  });

  it('an unknown datacenter keeps "No path to datacenter"', async () => {
    const r = await call(dc1, '/v1/catalog/services?dc=nowhere');
    expect(r.status).toBe(500);
    expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_NO_PATH_TO_DC');
    expect(r.text).toMatch(/^No path to datacenter/);
  });

  it('forwards writes', async () => {
    await ok(dc1, '/v1/catalog/register?dc=dc3', { method: 'PUT', body: { Node: 'ext-db', Address: '10.9.9.9', Service: { Service: 'db', Port: 5432 } } });
    const here = await ok<Record<string, unknown>>(dc1, '/v1/catalog/services');
    expect(here.db).toBeUndefined();
    const there = await ok<Record<string, unknown>>(dc3, '/v1/catalog/services');
    expect(there.db).toEqual([]);
    // Consul's other form: the datacenter in the body of a catalog write.
    await ok(dc1, '/v1/catalog/register', {
      method: 'PUT',
      body: { Datacenter: 'dc3', Node: 'ext-cache', Address: '10.9.9.8', Service: { Service: 'cache', Port: 6379 } },
    });
    expect((await ok<Record<string, unknown>>(dc3, '/v1/catalog/services')).cache).toEqual([]);
    await ok(dc1, '/v1/catalog/deregister', { method: 'PUT', body: { Datacenter: 'dc3', Node: 'ext-cache' } });
    expect((await ok<Record<string, unknown>>(dc3, '/v1/catalog/services')).cache).toBeUndefined();
    expect((await ok<Record<string, unknown>>(dc1, '/v1/catalog/services')).cache).toBeUndefined();
  });

  it('a blocking query on a remote datacenter wakes on a change there', async () => {
    const first = await call(dc1, '/v1/health/service/web?dc=dc2');
    const index = Number(first.headers.get('x-consul-index'));
    // The wait is far longer than the test's own time limit: only the change can end it in time.
    const blocked = call(dc1, `/v1/health/service/web?dc=dc2&index=${index}&wait=5m`);
    await new Promise((r) => setTimeout(r, 300));
    await register(dc2, { Name: 'web', ID: 'web-2b', Port: 8083 });
    const woke = await blocked;
    expect(woke.status).toBe(200);
    expect(Number(woke.headers.get('x-consul-index'))).toBeGreaterThan(index);
    expect((woke.json() as Entry[]).map((e) => e.Service.ID).sort()).toEqual(['web-2a', 'web-2b']);
  }, 60_000);
});

describe('DNS for other datacenters', () => {
  it('answers <svc>.service.<dc>, tag and RFC 2782 forms and <node>.node.<dc> by asking that datacenter', async () => {
    const srv = await dig(dc1.dnsPort!, ['web.service.dc2.consul', 'SRV']);
    expect(srv.status).toBe('NOERROR');
    expect(srv.answer.map((a) => a.data.split(' ').slice(2).join(' ')).sort()).toEqual(['8082 s2.node.dc2.consul.', '8083 s2.node.dc2.consul.']);
    // The same TTL as dc2 gives its own answers (default 5 s).
    expect(srv.answer.every((a) => a.ttl === 5)).toBe(true);
    const tagged = await dig(dc1.dnsPort!, ['v1.web.service.dc2.consul', 'SRV']);
    expect(tagged.answer.map((a) => a.data.split(' ')[2])).toEqual(['8082']);
    const rfc = await dig(dc1.dnsPort!, ['_web._v1.service.dc2.consul', 'SRV']);
    expect(rfc.answer.map((a) => a.data.split(' ')[2])).toEqual(['8082']);
    const node = await dig(dc1.dnsPort!, ['s2.node.dc2.consul', 'A']);
    expect(node.answer.map((a) => a.data)).toEqual(['127.0.0.1']);
    const unknown = await dig(dc1.dnsPort!, ['web.service.nowhere.consul', 'A']);
    expect(unknown.status).toBe('NXDOMAIN');
  });
});

describe('the SDK', () => {
  it('discovers in another datacenter with dc, and fails over by a list of datacenters or a prepared query', async () => {
    const c = new BeaconClient({ servers: [dc1.httpUrl], deregisterOnSignals: false, requestTimeoutMs: 5_000 });
    clients.push(c);
    const remote = await c.discover('web', { dc: 'dc2' });
    expect(remote.instances.map((i) => i.port).sort()).toEqual([8082, 8083]);
    const viaList = await c.discover('web', { failover: ['dc3', 'dc2'] });
    expect(viaList.instances.map((i) => i.datacenter)).toEqual(['dc2', 'dc2']);
    const local = await c.discover('local-only', { failover: ['dc2'] });
    expect(local.instances.map((i) => i.port)).toEqual([7001]);
    await ok(dc1, '/v1/query', { method: 'POST', body: { Name: 'web-anywhere', Service: { Service: 'web', Failover: { Datacenters: ['dc2'] } } } });
    const viaQuery = await c.discover('web', { failover: { query: 'web-anywhere' } });
    expect(viaQuery.instances.map((i) => i.datacenter)).toEqual(['dc2', 'dc2']);
    await expect(c.discover('web', { failover: 'dc2' as unknown as string[] })).rejects.toThrow(/failover must be/);
  });
});

describe('the gateway', () => {
  it('with --failover sends a request to the next datacenter when the service has no healthy instance in its own', async () => {
    const upstream = createServer((_req, res) => res.end('answered in dc2'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    // dc1 has the service, but only a critical instance; dc2 a healthy one.
    await register(dc1, { ID: 'gw-1', Name: 'gwfo', Address: '127.0.0.1', Port: 1, Check: { TTL: '60s', Status: 'critical' } });
    await register(dc2, { ID: 'gw-2', Name: 'gwfo', Address: '127.0.0.1', Port: port });
    const gw = spawn(process.execPath, [BEACON_BIN, 'gateway', '--listen', '127.0.0.1:0', '--server', dc1.httpUrl, '--failover', 'dc2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    gw.stdout.on('data', (d: Buffer) => (out += d.toString()));
    gw.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const listen = await until('gateway ready', () => Promise.resolve(/listen=(\S+)/.exec(out)?.[1]));
      const body = await until('answered through dc2', async () => {
        const res = await request(`http://${listen}/`, { headers: { host: 'gwfo.service.consul' } });
        const text = await res.body.text();
        if (text !== 'answered in dc2') throw new Error(`${res.statusCode} ${text}`);
        return text;
      });
      expect(body).toBe('answered in dc2');
    } finally {
      gw.kill('SIGTERM');
      upstream.close();
    }
    const bad = await run(process.execPath, [BEACON_BIN, 'gateway', '--listen', '127.0.0.1:0', '--failover', 'dc 2']).catch(
      (e: { code?: number; stderr?: string }) => e,
    );
    expect((bad as { code?: number }).code).toBe(2);
    expect(bad.stderr).toMatch(/--failover.*"dc 2" is not a datacenter name/);
  });
});

describe('prepared queries', () => {
  let id = '';

  it('are created, listed, read, replaced and executed in Consul’s shape', async () => {
    const created = await ok<{ ID: string }>(dc1, '/v1/query', {
      method: 'POST',
      body: { Name: 'pay-q', Service: { Service: 'pay', Failover: { NearestN: 2 }, OnlyPassing: true }, DNS: { TTL: '3s' } },
    });
    id = created.ID;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const list = await ok<{ ID: string; Name: string; RaftIndex: { CreateIndex: number } }[]>(dc1, '/v1/query');
    expect(list.find((q) => q.ID === id)).toMatchObject({ Name: 'pay-q', RaftIndex: { CreateIndex: expect.any(Number) as number } });
    const one = await ok<{ Service: { Service: string; Failover: { NearestN: number } } }[]>(dc1, `/v1/query/${id}`);
    expect(one).toHaveLength(1);
    expect(one[0].Service).toMatchObject({ Service: 'pay', Failover: { NearestN: 2, Datacenters: [] } });
    const explain = await ok<{ Query: { ID: string; Name: string } }>(dc1, '/v1/query/pay-q/explain');
    expect(explain.Query).toMatchObject({ ID: id, Name: 'pay-q' });
    const exec = await ok<Exec>(dc1, '/v1/query/pay-q/execute');
    expect(exec).toMatchObject({ Service: 'pay', DNS: { TTL: '3s' }, Datacenter: 'dc1', Failovers: 0 });
    expect(exec.Nodes.map((n) => n.Service.ID)).toEqual(['pay-1']);
    // dc2 sees none of dc1's queries; ?dc=dc1 from dc2 runs dc1's.
    expect((await call(dc2, '/v1/query/pay-q/execute')).status).toBe(404);
    expect((await ok<Exec>(dc2, '/v1/query/pay-q/execute?dc=dc1')).Datacenter).toBe('dc1');
  });

  it('fail over when every local instance turns critical, and come back when one recovers (HTTP and DNS)', async () => {
    await ok(dc1, '/v1/agent/check/fail/service:pay-1', { method: 'PUT' });
    const failed = await until('the query fails over to dc2', async () => {
      const r = await ok<Exec>(dc1, `/v1/query/${id}/execute`);
      return r.Datacenter === 'dc2' ? r : undefined;
    });
    expect(failed.Nodes.map((n) => [n.Service.ID, n.Node.Datacenter])).toEqual([['pay-2', 'dc2']]);
    expect(failed.Failovers).toBeGreaterThanOrEqual(1);
    const srv = await dig(dc1.dnsPort!, ['pay-q.query.consul', 'SRV']);
    expect(srv.answer.map((a) => [a.ttl, a.data])).toEqual([[3, '1 1 9002 s2.node.dc2.consul.']]);

    await ok(dc1, '/v1/agent/check/pass/service:pay-1', { method: 'PUT' });
    const back = await until('the query answers from dc1 again', async () => {
      const r = await ok<Exec>(dc1, `/v1/query/${id}/execute`);
      return r.Datacenter === 'dc1' ? r : undefined;
    });
    expect(back.Failovers).toBe(0);
    expect(back.Nodes.map((n) => n.Service.ID)).toEqual(['pay-1']);
    const a = await dig(dc1.dnsPort!, ['pay-q.query.consul', 'SRV']);
    expect(a.answer.map((x) => x.data)).toEqual(['1 1 9001 s1.node.dc1.consul.']);
    // dc2 asks dc1 to run dc1's query.
    const remote = await dig(dc2.dnsPort!, ['pay-q.query.dc1.consul', 'SRV']);
    expect(remote.answer.map((x) => x.data)).toEqual(['1 1 9001 s1.node.dc1.consul.']);
  });

  it('are replaced and deleted', async () => {
    await ok(dc1, `/v1/query/${id}`, { method: 'PUT', body: { Name: 'pay-q2', Service: { Service: 'pay', Tags: ['!canary'] } } });
    const [q] = await ok<{ Name: string; Service: { Tags: string[] } }[]>(dc1, `/v1/query/${id}`);
    expect(q).toMatchObject({ Name: 'pay-q2', Service: { Tags: ['!canary'] } });
    expect((await call(dc1, '/v1/query/pay-q/execute')).status).toBe(404);
    await ok(dc1, `/v1/query/${id}`, { method: 'DELETE' });
    expect((await call(dc1, `/v1/query/${id}`)).status).toBe(404);
    const dns = await dig(dc1.dnsPort!, ['pay-q2.query.consul', 'A']);
    expect(dns.status).toBe('NXDOMAIN');
  });

  it.each([
    ['no Service', { Name: 'x' }, /Invalid Service: is required/],
    ['no Service.Service', { Service: { Tags: [] } }, /Invalid Service\.Service: is required/],
    ['a negative NearestN', { Service: { Service: 'a', Failover: { NearestN: -1 } } }, /Invalid Service\.Failover\.NearestN/],
    ['a bad datacenter', { Service: { Service: 'a', Failover: { Datacenters: ['no spaces'] } } }, /Invalid Service\.Failover\.Datacenters\[0\]/],
    ['Tags not a list', { Service: { Service: 'a', Tags: 'v1' } }, /Invalid Service\.Tags/],
    ['an unknown field', { Service: { Service: 'a', Colour: 'red' } }, /Invalid Service\.Colour/],
    ['a template', { Service: { Service: 'a' }, Template: { Type: 'name_prefix_match' } }, /Invalid Template/],
    ['a bad DNS TTL', { Service: { Service: 'a' }, DNS: { TTL: 'soon' } }, /Invalid DNS\.TTL/],
    ['a name that looks like an ID', { Name: '6f9d3b1e-8a7c-4d2e-9f10-1a2b3c4d5e6f', Service: { Service: 'a' } }, /Invalid Name/],
    ['an ID on create', { ID: 'x', Service: { Service: 'a' } }, /Invalid ID/],
    ['not JSON', '{"Service":', /./],
  ])('POST /v1/query refuses %s with a 400 naming the field, and stores nothing', async (_what, body, msg) => {
    const before = await ok<unknown[]>(dc1, '/v1/query');
    const r = await call(dc1, '/v1/query', { method: 'POST', body });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(msg);
    expect(await ok<unknown[]>(dc1, '/v1/query')).toEqual(before);
  });

  it('refuses a duplicate name, unknown IDs, a mismatched body ID and a bad limit', async () => {
    await ok(dc1, '/v1/query', { method: 'POST', body: { Name: 'dup', Service: { Service: 'a' } } });
    const dup = await call(dc1, '/v1/query', { method: 'POST', body: { Name: 'dup', Service: { Service: 'b' } } });
    expect([dup.status, dup.text]).toEqual([409, 'Invalid Name: a prepared query with name "dup" already exists']);
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, path, body] of [
      ['GET', `/v1/query/${missing}`, undefined],
      ['PUT', `/v1/query/${missing}`, { Service: { Service: 'a' } }],
      ['DELETE', `/v1/query/${missing}`, undefined],
      ['GET', `/v1/query/${missing}/execute`, undefined],
      ['GET', '/v1/query/no-such-name/execute', undefined],
    ] as const) {
      const r = await call(dc1, path, { method, body });
      expect([method, path, r.status, r.text]).toEqual([method, path, 404, 'Query not found']);
    }
    const [dupq] = await ok<{ ID: string }[]>(dc1, '/v1/query/dup');
    const mismatch = await call(dc1, `/v1/query/${dupq.ID}`, { method: 'PUT', body: { ID: missing, Service: { Service: 'a' } } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toMatch(/Invalid ID/);
    const limit = await call(dc1, '/v1/query/dup/execute?limit=many');
    expect([limit.status, limit.text]).toEqual([400, 'Invalid limit: "many" is not a non-negative integer']);
  });
});

describe('bad input to the WAN routes', () => {
  it.each([
    ['no body', undefined, /body/],
    ['no Servers', { Datacenter: 'dcx', Node: 'n' }, /Invalid Servers: is required/],
    ['a bad datacenter name', { Datacenter: 'bad name', Node: 'n', Servers: [] }, /Invalid Datacenter/],
    [
      'a server without Http',
      { Datacenter: 'dcx', Node: 'n', Servers: [{ Node: 'n', Datacenter: 'dcx', Addr: '1.2.3.4' }] },
      /Invalid Servers\[0\]\.Http: is required/,
    ],
    ['an unknown field', { Datacenter: 'dcx', Node: 'n', Servers: [], Extra: 1 }, /additional properties/],
  ])('POST /v1/beacon/wan/exchange refuses %s (400, JSON naming the field) and learns nothing', async (_what, body, msg) => {
    const r = await call(dc1, '/v1/beacon/wan/exchange', { method: 'POST', body });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect((r.json() as { code: string; message: string }).message).toMatch(msg);
    expect((await ok<string[]>(dc1, '/v1/catalog/datacenters')).sort()).toEqual(['dc1', 'dc2', 'dc3']);
  });

  it('members?wan=maybe is a 400', async () => {
    const r = await call(dc1, '/v1/agent/members?wan=maybe');
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/wan/);
  });
});

describe('a datacenter that stops answering', () => {
  it('gives clear retryable errors, never past the wait, while local queries go on; and comes back by itself', async () => {
    await until('dc3 reachable from dc1', async () => (await call(dc1, '/v1/catalog/services?dc=dc3')).status === 200);
    const localIndex = Number((await call(dc1, '/v1/health/service/local-only')).headers.get('x-consul-index'));
    dc3.proc.kill('SIGSTOP');
    // Forwarded blocking queries to the stopped datacenter hang until their wait (2 s) plus margin.
    let remoteDone = false;
    const remote = Promise.all([1, 2, 3].map(() => call(dc1, '/v1/catalog/services?dc=dc3&index=1&wait=2s'))).finally(() => (remoteDone = true));
    // A local blocking query wakes on a local change while the WAN requests hang.
    const localBlocked = call(dc1, `/v1/health/service/local-only?index=${localIndex}&wait=5m`);
    await register(dc1, { Name: 'local-only', ID: 'lo-2', Port: 7002 });
    const woke = await localBlocked;
    expect(Number(woke.headers.get('x-consul-index'))).toBeGreaterThan(localIndex);
    // Local reads go on at their own pace: count how many complete before the hanging remote
    // ones answer. A shared queue or lock with the forwards would hold them all.
    let localDone = 0;
    while (!remoteDone && localDone < 5000) {
      const r = await call(dc1, '/v1/health/service/local-only');
      expect(r.status).toBe(200);
      localDone++;
    }
    const answers = await remote;
    expect(localDone).toBeGreaterThanOrEqual(20);
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.headers.get('x-beacon-error')).toBe('BEACON_ERR_DC_UNREACHABLE');
      expect(a.text).toMatch(/^Remote DC has no server currently reachable: datacenter "dc3"/);
    }
    // Marked unreachable by the exchange: refused at once from then on, in every form.
    await until('dc3 marked unreachable', async () => {
      const r = await call(dc1, '/v1/health/service/web?dc=dc3');
      return r.status === 503 && /marked unreachable/.test(r.text);
    });
    const members = await ok<{ Name: string; Status: number }[]>(dc1, '/v1/agent/members?wan=1');
    expect(members.find((m) => m.Name === 's3.dc3')?.Status).toBe(4);
    const dcs = await ok<string[]>(dc1, '/v1/catalog/datacenters');
    expect(dcs).toEqual(['dc1', 'dc2', 'dc3']);
    const servfail = await dig(dc1.dnsPort!, ['web.service.dc3.consul', 'A']);
    expect(servfail.status).toBe('SERVFAIL');
    // A prepared query whose failover names the stopped datacenter skips it.
    await ok(dc1, '/v1/query', { method: 'POST', body: { Name: 'web-q', Service: { Service: 'web', Failover: { Datacenters: ['dc3', 'dc2'] } } } });
    const exec = await ok<Exec>(dc1, '/v1/query/web-q/execute');
    expect([exec.Datacenter, exec.Failovers]).toEqual(['dc2', 2]);

    dc3.proc.kill('SIGCONT');
    await until('dc3 answers ?dc= again', async () => (await call(dc1, '/v1/catalog/services?dc=dc3')).status === 200);
    const after = await until('s3.dc3 alive again', async () => {
      const m = await ok<{ Name: string; Status: number }[]>(dc1, '/v1/agent/members?wan=1');
      return m.find((x) => x.Name === 's3.dc3')?.Status === 1 ? m : undefined;
    });
    expect(after).toHaveLength(3);
  }, 90_000);
});
