/**
 * Starts a real `bin/beacon server` child process on loopback with a temp data dir, waits for
 * its ready line, and cleans up (process and temp dir) on stop. Tests must call stop() in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const BEACON_BIN = join(REPO_ROOT, 'bin', 'beacon');

export interface StartOptions {
  /** Reuse a data dir (restart tests); default a fresh temp dir removed on stop(). */
  dataDir?: string;
  /** Extra CLI flags after `server`. */
  args?: string[];
  env?: Record<string, string>;
  /** HTTP address; default 127.0.0.1:0 (a free port). */
  httpAddr?: string;
  /** DNS address; default 127.0.0.1:0; 'off' disables. */
  dnsAddr?: string;
  readyTimeoutMs?: number;
}

export interface RunningServer {
  proc: ChildProcess;
  /** e.g. http://127.0.0.1:34567 */
  httpUrl: string;
  httpHost: string;
  httpPort: number;
  /** DNS host and port, when DNS is on. */
  dnsHost: string | undefined;
  dnsPort: number | undefined;
  dataDir: string;
  /** Everything the process wrote so far. */
  output(): string;
  /** SIGTERM (or the given signal) and wait for exit; removes the temp data dir unless keepData. */
  stop(opts?: { signal?: NodeJS.Signals; keepData?: boolean }): Promise<number | null>;
  /** SIGKILL and wait for exit; keeps the data dir. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function tempDir(prefix = 'beacon-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? tempDir();
  const args = [
    BEACON_BIN,
    'server',
    '--http-addr',
    opts.httpAddr ?? '127.0.0.1:0',
    '--dns-addr',
    opts.dnsAddr ?? '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--node',
    'test-node',
    '--log-level',
    'warn',
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) =>
    proc.once('exit', (code) => {
      live.delete(proc);
      res(code);
    }),
  );

  const ready = await new Promise<RegExpMatchArray>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`beacon server not ready after ${opts.readyTimeoutMs ?? 20000} ms:\n${out}`)), opts.readyTimeoutMs ?? 20000);
    const onData = () => {
      const m = out.match(/beacon server ready http=(\S+):(\d+) dns=(\S+)/);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`beacon server exited with ${code} before ready:\n${out}`));
    });
  });
  const httpHost = ready[1];
  const httpPort = Number(ready[2]);
  const dns = ready[3];
  const dnsMatch = dns === 'off' ? null : dns.match(/^(.*):(\d+)$/);

  return {
    proc,
    dataDir,
    httpHost,
    httpPort,
    httpUrl: `http://${httpHost}:${httpPort}`,
    dnsHost: dnsMatch?.[1],
    dnsPort: dnsMatch ? Number(dnsMatch[2]) : undefined,
    output: () => out,
    async stop({ signal = 'SIGTERM', keepData = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      if (ownDir && !keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
