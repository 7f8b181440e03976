/**
 * The `beacon server` process: --help, start-up failures with a one-line reason, clean SIGTERM,
 * restart keeping every registration, and kill -9 during a stream of registrations losing none
 * that were acknowledged.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BEACON_BIN, startServer, tempDir } from '../helpers/server.js';

function runCli(args: string[], timeout = 15_000) {
  return spawnSync(process.execPath, [BEACON_BIN, ...args], { encoding: 'utf8', timeout });
}

describe('beacon CLI', () => {
  it('has --help on the root and the server command', () => {
    const root = runCli(['--help']);
    expect(root.status).toBe(0);
    expect(root.stdout).toMatch(/Usage: beacon/);
    expect(root.stdout).toMatch(/server/);
    const srv = runCli(['server', '--help']);
    expect(srv.status).toBe(0);
    for (const flag of ['--http-addr', '--data-dir', '--datacenter', '--node', '--log-level', '--dns-addr']) expect(srv.stdout).toContain(flag);
  });

  it('exits non-zero with one line when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dir = tempDir();
    try {
      const r = runCli(['server', '--http-addr', `127.0.0.1:${port}`, '--dns-addr', 'off', '--data-dir', dir, '--log-level', 'silent']);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`cannot listen for HTTP on 127\\.0\\.0\\.1:${port}: address already in use`));
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits non-zero with one line when the data dir cannot be created or written', () => {
    const parent = tempDir();
    try {
      // root ignores directory permissions, so use a path below a regular file: mkdir fails for anyone.
      const file = join(parent, 'file');
      writeFileSync(file, 'x');
      const bad = join(file, 'data');
      const r = runCli(['server', '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', bad, '--log-level', 'silent']);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(bad);
      if (process.getuid?.() !== 0) {
        const ro = join(parent, 'ro');
        mkdirSync(ro);
        chmodSync(ro, 0o500);
        const r2 = runCli(['server', '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', ro, '--log-level', 'silent']);
        chmodSync(ro, 0o700);
        expect(r2.status).toBe(1);
        expect(r2.stderr.trim().split('\n')).toHaveLength(1);
      }
      if (process.platform === 'linux') {
        // Unwritable even for root; Node's recursive mkdir used to spin forever here.
        const proc = `/proc/beacon-${process.pid}/data`;
        const r3 = runCli(['server', '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', proc, '--log-level', 'silent']);
        expect(r3.status).toBe(1);
        expect(r3.stderr.trim().split('\n')).toHaveLength(1);
        expect(r3.stderr).toContain(proc);
      }
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('rejects a bad flag value naming it', () => {
    const r = runCli(['server', '--http-addr', 'nonsense', '--dns-addr', 'off']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid httpAddr: "nonsense" is not HOST:PORT/);
  });

  it('refuses a second server on the same data dir', async () => {
    const a = await startServer({ dnsAddr: 'off' });
    try {
      const r = runCli(['server', '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', a.dataDir, '--log-level', 'silent']);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await a.stop();
    }
  });
});

describe('beacon server settings', () => {
  it('takes settings from a config file, BEACON_* env and flags (flags beat env, env beats file)', async () => {
    const dir = tempDir();
    const file = join(dir, 'beacon.json');
    writeFileSync(file, JSON.stringify({ datacenter: 'dc-file', node: 'file-node', maxBodyBytes: 2048 }));
    const s = await startServer({ dnsAddr: 'off', args: ['--config', file], env: { BEACON_DATACENTER: 'dc-env' } });
    try {
      const self = (await (await fetch(`${s.httpUrl}/v1/agent/self`)).json()) as { Config: { Datacenter: string; NodeName: string } };
      expect(self.Config.Datacenter).toBe('dc-env');
      expect(self.Config.NodeName).toBe('test-node');
      // Only the file sets the body limit.
      const big = await fetch(`${s.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'x', Meta: { a: 'y'.repeat(3000) } }) });
      expect(big.status).toBe(413);
      expect((await fetch(`${s.httpUrl}/v1/catalog/services?dc=dc-file`)).status).toBe(500);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('beacon server lifecycle', () => {
  it('SIGTERM finishes an in-flight blocking query and exits 0; a restart keeps every registration', async () => {
    const s1 = await startServer({ dnsAddr: 'off' });
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const id = `svc-${i}`;
      const r = await fetch(`${s1.httpUrl}/v1/agent/service/register`, {
        method: 'PUT',
        body: JSON.stringify({ Name: `svc-${i % 5}`, ID: id, Port: 1000 + i, Tags: [`t${i}`], Meta: { i: String(i) } }),
      });
      expect(r.status).toBe(200);
      ids.push(id);
    }
    const idx = (await fetch(`${s1.httpUrl}/v1/catalog/services`)).headers.get('x-consul-index');
    const blocking = fetch(`${s1.httpUrl}/v1/catalog/services?index=${idx}&wait=60s`).then((r) => r.status);
    await new Promise((r) => setTimeout(r, 100));
    // Exit code 0 means it exited on its own: stop() sends SIGKILL after 10 s (code null), far
    // less than the query's 60 s wait, so shutdown ended the blocking query instead of waiting.
    const code = await s1.stop({ keepData: true });
    expect(code).toBe(0);
    expect(await blocking).toBe(200);

    const s2 = await startServer({ dnsAddr: 'off', dataDir: s1.dataDir });
    try {
      const services = (await (await fetch(`${s2.httpUrl}/v1/agent/services`)).json()) as Record<
        string,
        { Port: number; Tags: string[]; Meta: Record<string, string> }
      >;
      for (const [i, id] of ids.entries()) expect(services[id]).toMatchObject({ Port: 1000 + i, Tags: [`t${i}`], Meta: { i: String(i) } });
    } finally {
      await s2.stop();
    }
  });

  it('kill -9 during a stream of registrations loses none that were acknowledged', async () => {
    const dataDir = tempDir();
    try {
      for (let round = 0; round < 3; round++) {
        const s = await startServer({ dnsAddr: 'off', dataDir });
        const acked: string[] = [];
        let stop = false;
        const writers = Array.from({ length: 16 }, async (_, w) => {
          for (let i = 0; !stop; i++) {
            const id = `r${round}-w${w}-${i}`;
            try {
              const r = await fetch(`${s.httpUrl}/v1/agent/service/register`, {
                method: 'PUT',
                body: JSON.stringify({ Name: 'stream', ID: id, Port: i % 65535 }),
              });
              if (r.status === 200) acked.push(id);
            } catch {
              return; // connection died with the server
            }
          }
        });
        const deadline = Date.now() + 10_000;
        while (acked.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        await s.kill();
        stop = true;
        await Promise.all(writers);
        expect(acked.length).toBeGreaterThanOrEqual(300);

        const again = await startServer({ dnsAddr: 'off', dataDir });
        try {
          const services = (await (await fetch(`${again.httpUrl}/v1/agent/services`)).json()) as Record<string, unknown>;
          const missing = acked.filter((id) => !(id in services));
          expect(missing, `lost ${missing.length} of ${acked.length} acknowledged registrations`).toEqual([]);
        } finally {
          await again.stop({ keepData: true });
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
