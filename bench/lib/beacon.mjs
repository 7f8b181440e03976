// Starts a real `bin/beacon server` child process for benchmarks (like test/helpers/server.ts):
// loopback HTTP on a free port, DNS off, a temp data dir unless one is given.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stopChild, tempDir, trackChild } from './cleanup.mjs';
import { pinned } from './machine.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/beacon', import.meta.url));

/** Exits with a clear message when dist/ has not been built. */
export function requireBuild(bench) {
  if (!existsSync(new URL('../../dist/cli/index.js', import.meta.url))) {
    console.error(`${bench}: dist/ is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}

/**
 * Starts Beacon and resolves once it printed its ready line.
 * `bin` runs another build's bin/beacon (A/B comparisons of two checkouts).
 * @param {{ dataDir?: string, nodeArgs?: string[], args?: string[], readyTimeoutMs?: number, pin?: boolean, bin?: string }} opts
 * @returns {Promise<{ proc, pid: number, url: string, host: string, port: number, dataDir: string, readyMs: number, output(): string, stop(): Promise<{code, signal, ms}> }>}
 */
export async function startBeacon(opts = {}) {
  const dataDir = opts.dataDir ?? tempDir('beacon-bench-');
  const argv = [
    ...(opts.nodeArgs ?? []),
    opts.bin ?? BIN,
    'server',
    '--http-addr',
    '127.0.0.1:0',
    '--dns-addr',
    'off',
    '--data-dir',
    dataDir,
    '--node',
    'bench',
    '--log-level',
    'warn',
    // The load generators are one client address holding hundreds of connections (wrk, 1,000
    // watchers): lift the per-client connection cap (an older build given by --bin has none).
    ...(opts.bin ? [] : ['--http-max-conns-per-client', '0']),
    ...(opts.args ?? []),
  ];
  const [cmd, args] = opts.pin === false ? [process.execPath, argv] : pinned('server', process.execPath, argv);
  const started = performance.now();
  const proc = trackChild(spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const m = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`beacon server not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = () => {
      const hit = out.match(/beacon server ready http=(\S+):(\d+) /);
      if (hit) {
        clearTimeout(timer);
        proc.stdout.off('data', onData);
        resolve(hit);
      }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`beacon server exited with ${code} before ready:\n${out}`));
    });
  });
  const readyMs = performance.now() - started;
  const host = m[1];
  const port = Number(m[2]);
  return {
    proc,
    pid: proc.pid,
    host,
    port,
    dataDir,
    readyMs,
    url: `http://${host}:${port}`,
    output: () => out,
    stop: () => stopChild(proc),
  };
}
