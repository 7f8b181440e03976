/**
 * Real processes for the gateway tests: `bin/beacon gateway|sidecar` children (ready line parsed,
 * output kept) and HTTP upstreams in child processes that a test can SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BEACON_BIN, REPO_ROOT } from './server.js';

export interface RunningProc {
  proc: ChildProcess;
  /** Fields of the ready line (`listen`, `admin`, `upstream=name@host:port` as `upstream:name`). */
  ready: Record<string, string>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (or `signal`) and wait for the exit code; SIGKILL after 15 s. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Runs `beacon <args>` until it prints `beacon <mode> ready …`; rejects with its output if it exits first. */
export async function startBeaconProc(mode: 'gateway' | 'sidecar', args: string[], readyTimeoutMs = 20_000): Promise<RunningProc> {
  const proc = spawn(process.execPath, [BEACON_BIN, mode, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) =>
    proc.once('exit', (code) => {
      live.delete(proc);
      res(code);
    }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`beacon ${mode} not ready after ${readyTimeoutMs} ms:\n${out}\n${err}`)), readyTimeoutMs);
    const onData = () => {
      const m = new RegExp(`^beacon ${mode} ready .*$`, 'm').exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', onData);
        resolve(m[0]);
      }
    };
    proc.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`beacon ${mode} exited with ${code} before ready:\n${out}\n${err}`));
    });
  });
  const ready: Record<string, string> = {};
  for (const part of line.split(' ').slice(3)) {
    const [k, v] = part.split(/=(.*)/s);
    if (k === 'upstream') {
      const [name, addr] = v.split('@');
      ready[`upstream:${name}`] = addr;
    } else ready[k] = v;
  }
  return {
    proc,
    ready,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Runs `beacon <args>` to its end: exit code and output (for flag errors). */
export function runBeacon(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BEACON_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`beacon ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(t);
      live.delete(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An HTTP upstream in its own process, answering `<name> <method> <url>`; killable with SIGKILL. */
export interface UpstreamProc {
  name: string;
  port: number;
  proc: ChildProcess;
  kill(): Promise<void>;
}

const UPSTREAM_CODE = `
const http = require('node:http');
const name = process.argv[1];
const s = http.createServer((req, res) => {
  let n = 0;
  req.on('data', (c) => (n += c.length));
  req.on('end', () => res.end(name + ' ' + req.method + ' ' + req.url + ' ' + n));
});
s.listen(0, '127.0.0.1', () => console.log('port=' + s.address().port));
`;

export async function startUpstreamProc(name: string): Promise<UpstreamProc> {
  const proc = spawn(process.execPath, ['-e', UPSTREAM_CODE, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(proc);
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      live.delete(proc);
      r();
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`upstream ${name} did not start`)), 15_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    name,
    port,
    proc,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `check` every 50 ms until it returns true, at most `timeoutMs` (generous: the machine is busy). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; Date.now() < until && i < 100_000; i++) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
}
