// Starts an etcd cluster of several members (Debian's etcd-server, /usr/bin/etcd) on loopback,
// each with free client and peer ports and a temp data dir, for the cluster-mode benchmarks.
// Members are not pinned to a CPU (see bench/cluster-etcd.mjs); they stop when the bench exits.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild, tempDir, trackChild } from './cleanup.mjs';
import { ensureEtcd, freePort } from './etcd.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `members` etcd members as one cluster; resolves once a linearizable read answers
 * (a leader and a quorum), or null when no etcd binary is available.
 * @returns {Promise<null | { url: string, endpoints: string[], pids: number[], version: string, stop(): Promise<void> }>}
 *   url: `etcd://127.0.0.1:p1,127.0.0.1:p2,...` (Beacon's --store); endpoints: `127.0.0.1:p` per member.
 */
export async function startEtcdCluster({ members = 3, readyTimeoutMs = 30_000 } = {}) {
  const bin = ensureEtcd();
  if (!bin) return null;
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0].replace('etcd Version: ', '').trim();
  const root = tempDir('beacon-bench-etcd-cluster-');
  const ports = new Set();
  while (ports.size < 2 * members) ports.add(await freePort());
  const list = [...ports];
  const ms = Array.from({ length: members }, (_, i) => ({ name: `m${i}`, client: list[2 * i], peer: list[2 * i + 1], dir: join(root, `m${i}`) }));
  const initial = ms.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const procs = ms.map((m) => {
    mkdirSync(m.dir);
    const c = `http://127.0.0.1:${m.client}`;
    const p = `http://127.0.0.1:${m.peer}`;
    const argv = ['--name', m.name, '--data-dir', m.dir, '--listen-client-urls', c, '--advertise-client-urls', c, '--listen-peer-urls', p];
    argv.push('--initial-advertise-peer-urls', p, '--initial-cluster', initial, '--initial-cluster-state', 'new');
    argv.push('--initial-cluster-token', `bench-${process.pid}`, '--logger', 'zap', '--log-level', 'error', '--log-outputs', 'stderr');
    const proc = trackChild(spawn(bin, argv, { stdio: ['ignore', 'ignore', 'pipe'] }));
    proc.output = '';
    proc.stderr.on('data', (d) => (proc.output = (proc.output + d).slice(-4000)));
    return proc;
  });
  const deadline = Date.now() + readyTimeoutMs;
  const rangeBody = JSON.stringify({ key: Buffer.from('\0').toString('base64') });
  for (;;) {
    const dead = procs.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`etcd member exited with ${dead.exitCode}: ${dead.output}`);
    try {
      // A linearizable read: answered only with a leader and a quorum.
      const res = await fetch(`http://127.0.0.1:${ms[0].client}/v3/kv/range`, { method: 'POST', body: rangeBody, signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`etcd cluster not ready after ${readyTimeoutMs} ms:\n${procs.map((p) => p.output).join('\n')}`);
    await sleep(100);
  }
  return {
    url: `etcd://${ms.map((m) => `127.0.0.1:${m.client}`).join(',')}`,
    endpoints: ms.map((m) => `127.0.0.1:${m.client}`),
    pids: procs.map((p) => p.pid),
    version,
    stop: async () => {
      await Promise.all(procs.map((p) => stopChild(p)));
    },
  };
}
