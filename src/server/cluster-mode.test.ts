/**
 * Three servers of one group in one process, on one shared embedded store: membership, the
 * coordinator, peers, ownership of the group's checks, TTL forwarding, and takeover when a
 * server leaves. The same logic runs on etcd in test/integration (real processes); here it is
 * quick and every step can be looked at.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../config/index.js';
import { EmbeddedStore, type Store } from '../store/index.js';
import { CLUSTER_NODE } from './cluster-node.js';
import { runServer, type RunningServer } from './server.js';

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

async function get<T>(s: RunningServer, path: string): Promise<{ status: number; body: T; headers: Record<string, unknown> }> {
  const res = await request(`http://${s.http.host}:${s.http.port}${path}`);
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

async function put(s: RunningServer, path: string, body?: unknown): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const res = await request(`http://${s.http.host}:${s.http.port}${path}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

interface CheckJson {
  CheckID: string;
  Node: string;
  Status: string;
}

describe('cluster mode: a server group on one store', () => {
  let store: Store;
  const servers: (RunningServer | undefined)[] = [];
  const names = ['beacon-a', 'beacon-b', 'beacon-c'];

  const start = (i: number) =>
    runServer(buildConfig({ node: names[i], httpAddr: '127.0.0.1:0', dnsAddr: 'off', dataDir: tmp(`beacon-cl-${i}-`), logLevel: 'silent', sessionTtl: '2s' }), {
      store,
      cluster: true,
      shutdownGraceMs: 1000,
    });

  beforeAll(async () => {
    store = await EmbeddedStore.open({ dataDir: tmp('beacon-cl-store-') });
    for (let i = 0; i < 3; i++) servers.push(await start(i));
  });

  afterAll(async () => {
    for (const s of servers) await s?.close().catch(() => undefined);
    await store.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('every server lists every server as a peer and names the same leader', async () => {
    for (const s of servers) {
      const peers = await until('three peers', async () => {
        const r = await get<string[]>(s!, '/v1/status/peers');
        return r.body.length === 3 ? r.body : undefined;
      });
      expect(peers).toHaveLength(3);
      const members = await get<{ Name: string; Status: number }[]>(s!, '/v1/agent/members');
      expect(members.body.map((m) => m.Name).sort()).toEqual(names);
    }
    const leaders = await Promise.all(servers.map(async (s) => (await get<string>(s!, '/v1/status/leader')).body));
    expect(new Set(leaders).size).toBe(1);
    expect(leaders[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    const peers = (await get<string[]>(servers[0]!, '/v1/status/peers')).body;
    expect(peers).toContain(leaders[0]);
    expect(peers.sort()).toEqual(servers.map((s) => `127.0.0.1:${s!.http.port}`).sort());
    const self = await get<{ Config: { NodeName: string } }>(servers[1]!, '/v1/agent/self');
    expect(self.body.Config.NodeName).toBe('beacon-b');
  });

  it('a service registered through one server belongs to the group; its TTL heartbeats work through any server', async () => {
    const services = Array.from({ length: 12 }, (_, i) => `web-${i}`);
    for (const [i, id] of services.entries()) {
      const r = await put(servers[i % 3]!, '/v1/agent/service/register', { ID: id, Name: 'web', Port: 8000 + i, Check: { TTL: '30s' } });
      expect(r.status, r.text).toBe(200);
    }
    // Every server sees them on the group's node; a heartbeat through each server reaches the owner.
    for (const s of servers) {
      const agentServices = await until('the services on every server', async () => {
        const r = await get<Record<string, unknown>>(s!, '/v1/agent/services');
        return Object.keys(r.body).length >= services.length ? r.body : undefined;
      });
      expect(Object.keys(agentServices).sort()).toEqual([...services].sort());
    }
    for (const [i, id] of services.entries()) {
      for (const s of servers) {
        const r = await until('the heartbeat taken', async () => {
          const res = await put(s!, `/v1/agent/check/pass/service:${id}?note=hb-${i}`);
          return res.status === 200 ? res : undefined;
        });
        expect(r.status).toBe(200);
      }
    }
    const checks = await until('every check passing', async () => {
      const r = await get<CheckJson[]>(servers[0]!, '/v1/health/state/passing');
      const mine = r.body.filter((c) => c.Node === CLUSTER_NODE);
      return mine.length === services.length ? mine : undefined;
    });
    expect(checks.every((c) => c.Status === 'passing')).toBe(true);
    // Heartbeats through every server for every check: most were forwarded to an owner.
    let forwarded = 0;
    for (const s of servers) {
      const res = await request(`http://${s!.http.host}:${s!.http.port}/metrics`);
      const m = /beacon_cluster_ttl_forwards_total\{result="ok"\} (\d+)/.exec(await res.body.text());
      forwarded += Number(m?.[1] ?? 0);
    }
    expect(forwarded).toBeGreaterThanOrEqual(services.length);
  });

  it('a heartbeat forwarded to a server that does not own the check is refused with a retryable code, not applied', async () => {
    // Ask each server to apply a forwarded update directly: exactly one owns each check.
    const owners: number[] = [];
    for (const s of servers) {
      const r = await put(s!, '/v1/beacon/cluster/ttl', { Node: CLUSTER_NODE, CheckID: 'service:web-0', Status: 'passing', Output: 'direct' });
      if (r.status === 200) owners.push(1);
      else {
        expect(r.status).toBe(503);
        expect(r.headers['x-beacon-error']).toBe('BEACON_ERR_NOT_OWNER');
      }
    }
    expect(owners).toHaveLength(1);
    const bad = await put(servers[0]!, '/v1/beacon/cluster/ttl', { Node: CLUSTER_NODE, CheckID: 'service:web-0', Status: 'dead' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/Status/);
  });

  it('when a server stops without leaving, its checks move and stay passing while heartbeats continue', async () => {
    const victim = servers[2]!;
    servers[2] = undefined;
    // close() stops the process's work without revoking its session: it lapses after its TTL,
    // as a killed server's would.
    await victim.close();
    await until('two peers left', async () => {
      const r = await get<string[]>(servers[0]!, '/v1/agent/members');
      return r.body.length === 2 ? true : undefined;
    });
    // Heartbeats through the survivors keep every instance passing; none was ever flagged.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 12; i++) {
        await until('heartbeat after takeover', async () => {
          const res = await put(servers[i % 2]!, `/v1/agent/check/pass/service:web-${i}`);
          return res.status === 200 ? true : undefined;
        });
      }
    }
    const passing = await get<unknown[]>(servers[1]!, '/v1/health/service/web?passing');
    expect(passing.body).toHaveLength(12);
    // The stopped server's own node went critical (its serfHealth), seen by the others.
    await until('beacon-c serfHealth critical', async () => {
      const r = await get<CheckJson[]>(servers[0]!, '/v1/health/node/beacon-c');
      return r.body.some((c) => c.CheckID === 'serfHealth' && c.Status === 'critical') ? true : undefined;
    });
  });

  it('a TTL that really lapses turns critical on its new owner', async () => {
    const r = await put(servers[0]!, '/v1/agent/service/register', { ID: 'short', Name: 'short', Port: 1, Check: { TTL: '1s' } });
    expect(r.status).toBe(200);
    await until('short critical', async () => {
      const res = await get<CheckJson[]>(servers[1]!, '/v1/health/checks/short');
      return res.body[0]?.Status === 'critical' ? true : undefined;
    });
  });
});
