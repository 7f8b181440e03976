/**
 * Federation with a server group: dc1 is two Beacon servers on one etcd member (cluster mode),
 * dc2 a single server that joins through dc1's first server only. Every server learns every
 * server; the dc1 server that was given no join address learns dc2 too; and when the dc1 server
 * dc2 joined through is killed (SIGKILL), `?dc=dc1` and DNS fail over to the other one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let etcd: EtcdCluster;
let a1: RunningServer;
let a2: RunningServer;
let b1: RunningServer;

type Member = { Name: string; Status: number };

async function json<T>(s: RunningServer, path: string, init: RequestInit = {}): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(`${s.httpUrl}${path}`, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body: body as T, text };
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, tries = 200, pauseMs = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`${what}: not reached after ${tries} tries`);
}

const WAN = ['--wan-interval', '200ms'];

beforeAll(async () => {
  ensureDig();
  etcd = await startEtcdCluster({ members: 1 });
  const group = (node: string) => ['--store', etcd.url, '--datacenter', 'dc1', '--node', node, '--session-ttl', '5s', ...WAN];
  a1 = await startServer({ args: group('a1') });
  a2 = await startServer({ args: group('a2') });
  b1 = await startServer({ args: ['--datacenter', 'dc2', '--node', 'b1', ...WAN, '--join-wan', a1.httpUrl] });
  const reg = await fetch(`${a1.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'api', ID: 'api-1', Port: 7070 }) });
  expect(reg.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([a1, a2, b1].map((s) => s?.stop()));
  await etcd?.cleanup();
});

describe('federation with a server group', () => {
  it('every server knows both servers of dc1 and the server of dc2, the one without --join-wan too', async () => {
    for (const s of [b1, a1, a2]) {
      const names = await until('3 alive WAN members', async () => {
        const r = await json<Member[]>(s, '/v1/agent/members?wan=1');
        return r.body.length === 3 && r.body.every((m) => m.Status === 1) ? r.body.map((m) => m.Name).sort() : undefined;
      });
      expect(names).toEqual(['a1.dc1', 'a2.dc1', 'b1.dc2']);
    }
    expect((await json<string[]>(a2, '/v1/catalog/datacenters')).body).toEqual(['dc1', 'dc2']);
  });

  it('forwards to the other server of the group when the one dc2 joined through is killed', async () => {
    const before = await json<{ Service: { ID: string } }[]>(b1, '/v1/health/service/api?dc=dc1');
    expect(before.body.map((e) => e.Service.ID)).toEqual(['api-1']);
    await a1.kill();
    // The next forwards reach a2 (the first try may meet the dead server and fail over at once).
    const after = await until('?dc=dc1 answered by a2', async () => {
      const r = await json<{ Service: { ID: string } }[]>(b1, '/v1/health/service/api?dc=dc1');
      return r.status === 200 ? r : undefined;
    });
    expect(after.body.map((e) => e.Service.ID)).toEqual(['api-1']);
    const srv = await dig(b1.dnsPort!, ['api.service.dc1.consul', 'SRV']);
    expect(srv.status).toBe('NOERROR');
    expect(srv.answer.map((a) => a.data.split(' ')[2])).toEqual(['7070']);
    // dc1's own list drops the dead server once its session lapses: the WAN view follows.
    const members = await until('a1 gone from the WAN view', async () => {
      const r = await json<Member[]>(b1, '/v1/agent/members?wan=1');
      return r.body.some((m) => m.Name === 'a1.dc1') ? undefined : r.body;
    });
    expect(members.map((m) => m.Name).sort()).toEqual(['a2.dc1', 'b1.dc2']);
  }, 60_000);
});
