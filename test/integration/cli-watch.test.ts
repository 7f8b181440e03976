/**
 * `beacon watch` against a real server: prints the current instances, prints the new array when
 * an instance registers, keeps going across a server restart (jittered back-off, one line per
 * failed attempt, whether the server was gone or answered that it is shutting down), and exits 0
 * on SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BEACON_BIN, REPO_ROOT, startServer, tempDir, type RunningServer } from '../helpers/server.js';

interface Entry {
  Service: { ID: string; Port: number };
}

/** A running `beacon watch`, with everything it printed so far. */
interface Watcher {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function watch(args: string[]): Watcher {
  const proc = spawn(process.execPath, [BEACON_BIN, 'watch', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, exited, stdout: () => out, stderr: () => err };
}

/** Each JSON document printed: they start with `[` or `{` at the start of a line. */
function documents<T>(stdout: string): T[] {
  return stdout
    .split(/^(?=[[{])/m)
    .filter((d) => d.trim() !== '')
    .map((d) => JSON.parse(d) as T);
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function register(s: RunningServer, body: unknown): Promise<void> {
  const res = await fetch(`${s.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

const watchers: Watcher[] = [];
const servers: RunningServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const w of watchers) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('beacon watch', () => {
  it('prints the array, then the new array on each change, and exits 0 on SIGINT', async () => {
    const server = await startServer({ dnsAddr: 'off' });
    servers.push(server);
    const w = watch(['--type', 'service', '--service', 'api', '--http-addr', `${server.httpHost}:${server.httpPort}`]);
    watchers.push(w);
    await until('the first (empty) array', () => documents(w.stdout()).length === 1);
    expect(documents(w.stdout())).toEqual([[]]);

    await register(server, { Name: 'api', ID: 'api-1', Port: 9001 });
    await until('the array with api-1', () => documents(w.stdout()).length === 2);
    await register(server, { Name: 'api', ID: 'api-2', Port: 9002 });
    await until('the array with api-2', () => documents(w.stdout()).length === 3);
    const docs = documents<Entry[]>(w.stdout());
    expect(docs[1].map((e) => e.Service.ID)).toEqual(['api-1']);
    expect(docs[2].map((e) => e.Service.ID).sort()).toEqual(['api-1', 'api-2']);
    // Printed as `consul watch` does: indented by four spaces.
    expect(w.stdout()).toMatch(/^\[\n {4}\{\n {8}"Node": \{/m);

    w.proc.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(w.stderr()).toBe('');
  });

  it('retries with back-off while the server is away and carries on when it is back', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const first = await startServer({ dnsAddr: 'off', dataDir: dir });
    const addr = `${first.httpHost}:${first.httpPort}`;
    const w = watch(['--type', 'services', '--http-addr', addr]);
    watchers.push(w);
    await until('the first map', () => documents(w.stdout()).length === 1);

    await first.stop({ keepData: true });
    await until('two retry lines', () => w.stderr().split('\n').length > 2);
    const lines = w.stderr().trimEnd().split('\n');
    // One line per failed attempt: the server was gone, or (a query that arrived while it shut
    // down) answered that it is shutting down. Never a raw JSON body.
    for (const line of lines) {
      expect(line).toMatch(
        /^beacon: error watching services: (cannot reach http:\/\/127\.0\.0\.1:\d+: .+|http:\/\/127\.0\.0\.1:\d+ is unavailable: Server is shutting down \(HTTP 503\)); retrying in \d+\.\ds$/,
      );
      expect(line).not.toContain('{');
    }

    const second = await startServer({ dnsAddr: 'off', dataDir: dir, httpAddr: addr });
    servers.push(second);
    await register(second, { Name: 'late', Port: 1 });
    await until('the map with "late"', () => documents(w.stdout()).length === 2);
    expect(Object.keys(documents<Record<string, string[]>>(w.stdout())[1]).sort()).toEqual(['consul', 'late']);

    w.proc.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });
});
