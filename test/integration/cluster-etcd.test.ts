/**
 * Cluster mode end to end, started the way a user starts it: `beacon dev cluster` (three real
 * etcd members and three `beacon server` processes on loopback). Register through one server,
 * read through the others over HTTP and DNS, consistent reads, the group's view (peers, leader,
 * members, `beacon members`), a server killed with SIGKILL, and Ctrl-C stopping everything.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../helpers/dns-dig.js';
import { BEACON_BIN, REPO_ROOT } from '../helpers/server.js';
import { ensureTool } from '../helpers/tools.js';

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** Port bases with every port the dev cluster takes free now (3 HTTP, 3 DNS, 3×2 etcd). */
async function pickBases(): Promise<{ http: number; dns: number; etcd: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const bases = { http: base, dns: base + 10, etcd: base + 50 };
    const ports = [0, 1, 2].flatMap((i) => [bases.http + i, bases.dns + i, bases.etcd + 10 * i, bases.etcd + 10 * i + 1]);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return bases;
  }
  throw new Error('no free port range found for the dev cluster');
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

interface Reply<T> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

async function http<T>(port: number, path: string, init: { method?: 'GET' | 'PUT'; body?: unknown } = {}): Promise<Reply<T>> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method: init.method ?? 'GET',
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // plain text (Consul's error form)
  }
  return { status: res.statusCode, body: body as T, headers: res.headers };
}

describe.sequential('cluster mode on a real etcd cluster (beacon dev cluster)', () => {
  let dev: ChildProcess;
  let out = '';
  let bases: { http: number; dns: number; etcd: number };
  let exited: Promise<number | null>;
  const httpPorts = () => [0, 1, 2].map((i) => bases.http + i);
  const pidOf = (node: string, port: number): number => {
    // The dev cluster's children, found by their command line.
    const r = spawnSync('pgrep', ['-f', '--', `--node ${node} --http-addr 127.0.0.1:${port}`], { encoding: 'utf8' });
    const pid = Number(r.stdout.trim().split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no process for ${node} on port ${port}`);
    return pid;
  };

  beforeAll(async () => {
    ensureTool('etcd', 'etcd-server');
    ensureTool('dig', 'dnsutils');
    bases = await pickBases();
    dev = spawn(
      process.execPath,
      [
        BEACON_BIN,
        'dev',
        'cluster',
        '--http-port',
        String(bases.http),
        '--dns-port',
        String(bases.dns),
        '--etcd-port',
        String(bases.etcd),
        '--session-ttl',
        '3s',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = new Promise((r) => dev.once('exit', (c) => r(c)));
    dev.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    dev.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await until(
      'the dev cluster to be ready',
      () => {
        if (dev.exitCode !== null) return Promise.reject(new Error(`beacon dev cluster exited ${dev.exitCode}:\n${out}`));
        return Promise.resolve(out.includes('cluster ready') ? true : undefined);
      },
      120_000,
    );
  }, 150_000);

  afterAll(async () => {
    if (dev && dev.exitCode === null) {
      dev.kill('SIGINT');
      const t = setTimeout(() => dev.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    }
  }, 60_000);

  it('prints every etcd member and server address', () => {
    for (const p of httpPorts()) expect(out).toContain(`http://127.0.0.1:${p}`);
    expect(out).toMatch(/etcd-1: client http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('cluster ready: 3 etcd member(s), 3 Beacon server(s)');
  });

  it('every server sees the whole group and the same leader; beacon members lists them', async () => {
    const leaders = new Set<string>();
    for (const p of httpPorts()) {
      const peers = await until('three peers', async () => {
        const r = await http<string[]>(p, '/v1/status/peers');
        return r.body.length === 3 ? r.body : undefined;
      });
      expect([...peers].sort()).toEqual(httpPorts().map((x) => `127.0.0.1:${x}`));
      leaders.add((await http<string>(p, '/v1/status/leader')).body);
    }
    expect(leaders.size).toBe(1);
    const members = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [BEACON_BIN, 'members', '--http-addr', `127.0.0.1:${bases.http + 1}`], { timeout: 20_000 }, (err, stdout) =>
        err ? reject(new Error(`beacon members failed: ${err.message}`)) : resolve(stdout),
      ),
    );
    for (const n of ['beacon-1', 'beacon-2', 'beacon-3']) expect(members).toContain(n);
  });

  it('a service registered through one server is read through the others, by HTTP, consistent reads and DNS', async () => {
    const [a, b, c] = httpPorts();
    for (let i = 0; i < 4; i++) {
      const r = await http(a, '/v1/agent/service/register', {
        method: 'PUT',
        body: { ID: `pay-${i}`, Name: 'payments', Address: `10.1.0.${i + 1}`, Port: 9000 + i, Tags: ['v2'], Check: { TTL: '30s' } },
      });
      expect(r.status).toBe(200);
    }
    for (let i = 0; i < 4; i++) expect((await http(b, `/v1/agent/check/pass/service:pay-${i}`, { method: 'PUT' })).status).toBe(200);
    // A consistent read on another server reflects every acknowledged write at once.
    const consistent = await http<{ Service: { ID: string }; Checks: { Status: string }[] }[]>(c, '/v1/health/service/payments?consistent&passing');
    expect(consistent.status).toBe(200);
    expect(consistent.body.map((e) => e.Service.ID).sort()).toEqual(['pay-0', 'pay-1', 'pay-2', 'pay-3']);
    expect(consistent.headers['x-consul-knownleader']).toBe('true');
    const index = Number(consistent.headers['x-consul-index']);
    expect(index).toBeGreaterThan(0);
    // DNS on the third server.
    const srv = await dig(bases.dns + 2, ['v2.payments.service.consul', 'SRV']);
    expect(srv.status).toBe('NOERROR');
    expect(srv.answer.map((r) => r.data.split(' ')[2]).sort()).toEqual(['9000', '9001', '9002', '9003']);
    // A blocking query on one server wakes on a write through another.
    const waiting = http<unknown[]>(b, `/v1/health/service/payments?index=${index}&wait=30s`);
    await http(c, '/v1/agent/service/deregister/pay-3', { method: 'PUT' });
    const woke = await waiting;
    expect(Number(woke.headers['x-consul-index'])).toBeGreaterThan(index);
    expect(woke.body).toHaveLength(3);
  });

  it('a server killed with SIGKILL: the others keep serving, its checks move, its node goes critical, the leader is one of the living', async () => {
    const pid = pidOf('beacon-1', bases.http);
    process.kill(pid, 'SIGKILL');
    const [, b, c] = httpPorts();
    await until('two members left', async () => {
      const r = await http<unknown[]>(b, '/v1/agent/members');
      return r.body.length === 2 ? true : undefined;
    });
    const leader = (await http<string>(c, '/v1/status/leader')).body;
    expect([`127.0.0.1:${b}`, `127.0.0.1:${c}`]).toContain(leader);
    // Heartbeats through the survivors are taken (retried while ownership moves) and keep every instance passing.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++) {
        await until('heartbeat taken', async () =>
          (await http(i % 2 ? b : c, `/v1/agent/check/pass/service:pay-${i}`, { method: 'PUT' })).status === 200 ? true : undefined,
        );
      }
    }
    const passing = await http<unknown[]>(c, '/v1/health/service/payments?passing');
    expect(passing.body).toHaveLength(3);
    await until('beacon-1 critical', async () => {
      const r = await http<{ CheckID: string; Status: string }[]>(b, '/v1/health/node/beacon-1');
      return r.body.some((x) => x.CheckID === 'serfHealth' && x.Status === 'critical') ? true : undefined;
    });
    expect(out).toContain('beacon-1 exited (killed); the others keep running');
  });

  it('Ctrl-C stops every process and removes the temporary data', async () => {
    const dir = /starting 3 etcd member\(s\) in (\S+) \.\.\./.exec(out)?.[1];
    expect(dir).toBeDefined();
    dev.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(0);
    expect(existsSync(dir!)).toBe(false);
    for (const p of httpPorts().slice(1)) expect(await portFree(p)).toBe(true);
  }, 60_000);
});
