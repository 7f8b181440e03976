/**
 * The SDK against a real `beacon server`: register and keep alive with TTL heartbeats, register
 * again after the server forgets, and deregister when a child process using the SDK gets SIGTERM.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeaconClient } from '../../src/client/index.js';
import { REPO_ROOT, startServer, tempDir, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
const clients: BeaconClient[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  // Fails (does not skip) with the server's output if it cannot start.
  server = await startServer({ dnsAddr: 'off' });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function client(): BeaconClient {
  const c = new BeaconClient({ servers: [server.httpUrl], deregisterOnSignals: false, requestTimeoutMs: 2_000 });
  clients.push(c);
  return c;
}

async function healthIds(name: string, passing = true): Promise<string[]> {
  const r = await fetch(`${server.httpUrl}/v1/health/service/${name}${passing ? '?passing' : ''}`);
  const body = (await r.json()) as Array<{ Service: { ID: string } }>;
  return body.map((e) => e.Service.ID).sort();
}

async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('registration against a real server', () => {
  it('registers with a TTL check and keeps it passing past several TTLs', async () => {
    const c = client();
    const reg = await c.register({
      name: 'keepalive',
      id: 'keepalive-1',
      address: '127.0.0.1',
      port: 7001,
      tags: ['v1'],
      meta: { build: '7' },
      check: { ttl: '1s' },
    });
    expect(await healthIds('keepalive')).toEqual(['keepalive-1']);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await healthIds('keepalive')).toEqual(['keepalive-1']);
    expect(reg.reregistrations).toBe(0);
    const snap = await c.discover('keepalive');
    expect(snap.instances[0]).toMatchObject({ id: 'keepalive-1', address: '127.0.0.1', port: 7001, tags: ['v1'], meta: { build: '7' }, status: 'passing' });
    await reg.deregister();
    expect(await healthIds('keepalive', false)).toEqual([]);
  });

  it('without heartbeats the TTL check goes critical and the instance leaves passing results', async () => {
    const c = client();
    const reg = await c.register({ name: 'lapsed', id: 'lapsed-1', address: '127.0.0.1', port: 7002, check: { ttl: '1s' } });
    reg.stop();
    await until(async () => (await healthIds('lapsed')).length === 0, 4_000, 'TTL expiry');
    expect(await healthIds('lapsed', false)).toEqual(['lapsed-1']);
    await c.deregister('lapsed-1');
  });

  it('registers again by itself when the server no longer knows the instance', async () => {
    const c = client();
    const reg = await c.register({ name: 'phoenix', id: 'phoenix-1', address: '127.0.0.1', port: 7003, check: { ttl: '900ms' } });
    const r = await fetch(`${server.httpUrl}/v1/agent/service/deregister/phoenix-1`, { method: 'PUT' });
    expect(r.status).toBe(200);
    expect(await healthIds('phoenix', false)).toEqual([]);
    await until(async () => (await healthIds('phoenix')).length === 1, 10_000, 're-registration');
    // The server may show the instance a moment before the SDK has read its own answer.
    await until(() => reg.reregistrations >= 1, 10_000, 'the SDK counting its re-registration');
    await reg.deregister();
  });

  it('an HTTP check run by the server takes a failing instance out of discovery', async () => {
    const { createServer } = await import('node:http');
    let healthy = true;
    const up = createServer((_req, res) => res.writeHead(healthy ? 200 : 500).end());
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const port = (up.address() as { port: number }).port;
    try {
      const c = client();
      await c.register({
        name: 'checked',
        id: 'checked-1',
        address: '127.0.0.1',
        port,
        check: { http: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '1s' },
      });
      const removed: string[] = [];
      const added: string[] = [];
      c.watch('checked', (ch) => {
        added.push(...ch.added.map((i) => i.id));
        removed.push(...ch.removed.map((i) => i.id));
      });
      await until(() => added.includes('checked-1'), 5_000, 'first passing check');
      healthy = false;
      await until(() => removed.includes('checked-1'), 8_000, 'the server marking it critical');
      await c.deregister('checked-1');
    } finally {
      up.closeAllConnections();
      await new Promise((r) => up.close(r));
    }
  });
});

describe('a registry restarted on an empty data dir', () => {
  it('gets both instances back (TTL and HTTP check) and discovery follows the new, lower index', async () => {
    const { createServer } = await import('node:http');
    const up = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const upPort = (up.address() as { port: number }).port;
    const s1 = await startServer({ dnsAddr: 'off' });
    let s2: RunningServer | undefined;
    const c = new BeaconClient({
      servers: [s1.httpUrl],
      deregisterOnSignals: false,
      requestTimeoutMs: 1_000,
      verifyRegistrationMs: 1_000,
      retry: { baseMs: 50, maxMs: 300 },
    });
    try {
      // Some history first, so the first server's index is well above a fresh one's.
      for (let i = 0; i < 30; i++) {
        const r = await fetch(`${s1.httpUrl}/v1/agent/service/register`, {
          method: 'PUT',
          body: JSON.stringify({ Name: 'filler', ID: `filler-${i}`, Port: 1 }),
        });
        expect(r.status).toBe(200);
      }
      const ttl = await c.register({ name: 'amnesia', id: 'amnesia-ttl', address: '127.0.0.1', port: 7201, check: { ttl: '900ms' } });
      const http = await c.register({
        name: 'amnesia',
        id: 'amnesia-http',
        address: '127.0.0.1',
        port: upPort,
        check: { http: `http://127.0.0.1:${upPort}/`, interval: '1s' },
      });
      const ids = () => (c.cached('amnesia')?.instances ?? []).map((i) => i.id).sort();
      await c.discover('amnesia');
      await until(() => ids().length === 2 && c.cached('amnesia')!.instances.every((i) => i.status === 'passing'), 5_000, 'both passing');

      await s1.kill();
      await until(() => c.cached('amnesia')?.stale === true, 5_000, 'stale while down');
      expect(ids()).toEqual(['amnesia-http', 'amnesia-ttl']);
      s2 = await startServer({ dnsAddr: 'off', httpAddr: `${s1.httpHost}:${s1.httpPort}` }); // a fresh, empty data dir
      rmSync(s1.dataDir, { recursive: true, force: true });

      await until(
        async () => {
          const r = await fetch(`${s2!.httpUrl}/v1/health/service/amnesia?passing`);
          return ((await r.json()) as unknown[]).length === 2;
        },
        8_000,
        'both instances registered again and passing',
      );
      expect(ttl.reregistrations).toBeGreaterThanOrEqual(1);
      expect(http.reregistrations).toBeGreaterThanOrEqual(1);
      await until(() => c.cached('amnesia')?.stale === false && ids().length === 2, 8_000, 'discovery fresh again');

      // The blocking loop reset to the new server's lower index: it sees a change at once.
      const removed: string[] = [];
      const stop = c.watch('amnesia', (ch) => removed.push(...ch.removed.map((i) => i.id)));
      const r = await fetch(`${s2.httpUrl}/v1/agent/service/deregister/amnesia-http`, { method: 'PUT' });
      expect(r.status).toBe(200);
      http.stop();
      await until(() => removed.includes('amnesia-http'), 3_000, 'the watcher seeing a change on the new server');
      stop();
    } finally {
      await c.close();
      await s2?.stop();
      await s1.stop();
      up.closeAllConnections();
      await new Promise((r) => up.close(r));
    }
  }, 60_000);
});

/** A child process that registers through the SDK (built dist), like a real service would. */
function spawnService(id: string, appHandler: boolean) {
  const dir = tempDir('beacon-sdk-child-');
  dirs.push(dir);
  const script = join(dir, 'service.mjs');
  writeFileSync(
    script,
    `import { BeaconClient } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'client', 'index.js'))};
const beacon = new BeaconClient({ servers: [process.env.BEACON_URL] });
await beacon.register({ name: 'sigterm-svc', id: process.env.SVC_ID, address: '127.0.0.1', port: 7100, check: { ttl: '30s' } });
if (process.env.APP_HANDLER === '1') {
  process.on('SIGTERM', () => { console.log('app handler ran'); setTimeout(() => process.exit(0), 300); });
}
console.log('registered');
setInterval(() => {}, 1_000);
`,
  );
  const proc = spawn(process.execPath, [script], {
    env: { ...process.env, BEACON_URL: server.httpUrl, SVC_ID: id, APP_HANDLER: appHandler ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  return { proc, exited, output: () => out };
}

describe('deregistration on SIGTERM/SIGINT', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`deregisters, then dies by ${sig} as if the SDK were not there`, async () => {
      const id = `${sig.toLowerCase()}-1`;
      const svc = spawnService(id, false);
      try {
        await until(() => svc.output().includes('registered'), 10_000, `child registration (output: ${svc.output()})`);
        expect(await healthIds('sigterm-svc')).toContain(id);
        svc.proc.kill(sig);
        const { code, signal } = await svc.exited;
        expect(signal).toBe(sig);
        expect(code).toBeNull();
        expect(await healthIds('sigterm-svc', false)).not.toContain(id);
      } finally {
        svc.proc.kill('SIGKILL');
      }
    });
  }

  it('deregisters and leaves the exit to the application when it handles SIGTERM itself', async () => {
    const svc = spawnService('sigterm-2', true);
    try {
      await until(() => svc.output().includes('registered'), 10_000, `child registration (output: ${svc.output()})`);
      svc.proc.kill('SIGTERM');
      const { code } = await svc.exited;
      expect(code).toBe(0);
      expect(svc.output()).toContain('app handler ran');
      expect(await healthIds('sigterm-svc', false)).not.toContain('sigterm-2');
    } finally {
      svc.proc.kill('SIGKILL');
    }
  });
});
