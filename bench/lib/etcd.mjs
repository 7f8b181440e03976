// Starts a single-member etcd (Debian's etcd-server, /usr/bin/etcd) on loopback with a temp
// data dir and free ports, as the baseline for durable-write benchmarks. Installs the package
// with apt-get when it is missing and we are root; resolves null when etcd cannot be had.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { stopChild, tempDir, trackChild } from './cleanup.mjs';
import { pinned, which } from './machine.mjs';

/** Path of the etcd binary, installing etcd-server once if missing and allowed; else null. */
export function ensureEtcd() {
  let bin = existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : which('etcd');
  if (bin === null && process.getuid?.() === 0 && which('apt-get') && process.env.BENCH_NO_INSTALL !== '1') {
    console.log('bench: etcd is missing; trying `apt-get install -y etcd-server`');
    try {
      execFileSync('apt-get', ['install', '-y', '-q', 'etcd-server'], { stdio: 'ignore', timeout: 300_000 });
    } catch {
      /* no package list or no network */
    }
    bin = existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : which('etcd');
  }
  return bin;
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts etcd pinned like a server under test; resolves { endpoint, pid, version, stop() }
 * once /health answers, or null when no etcd binary is available.
 */
export async function startEtcd() {
  const bin = ensureEtcd();
  if (!bin) return null;
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0].replace('etcd Version: ', '').trim();
  const dataDir = tempDir('beacon-bench-etcd-');
  const [client, peer] = [await freePort(), await freePort()];
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const argv = [
    '--name',
    'bench',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    c,
    '--advertise-client-urls',
    c,
    '--listen-peer-urls',
    p,
    '--initial-advertise-peer-urls',
    p,
    '--initial-cluster',
    `bench=${p}`,
    '--initial-cluster-state',
    'new',
    '--logger',
    'zap',
    '--log-level',
    'error',
  ];
  const [cmd, args] = pinned('server', bin, argv);
  const proc = trackChild(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}: ${err}`);
    try {
      const res = await fetch(`${c}/health`);
      const body = await res.json();
      if (body.health === 'true') break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`etcd not healthy after 20 s: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint: `127.0.0.1:${client}`, pid: proc.pid, version, stop: () => stopChild(proc) };
}
