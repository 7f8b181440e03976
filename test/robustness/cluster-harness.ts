/**
 * The fault suite's cluster: a real three-member etcd on loopback and three `beacon server`
 * processes joined through it (cluster mode), each on an HTTP port it keeps across restarts so
 * clients configured with the three addresses keep working. The last server reaches etcd
 * through a {@link TcpProxy} the test can cut: a partition of that one server from etcd, made in
 * the test process instead of with network namespaces (which would need root and `ip netns`).
 *
 * @example
 * const c = await startFaultCluster({ sessionTtlSeconds: 3 });
 * await c.killServer(1);
 * await c.restartServer(1);
 * await c.cleanup();
 */
import { rmSync } from 'node:fs';
import { request } from 'undici';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export interface FaultClusterOptions {
  sessionTtlSeconds: number;
  servers?: number;
  /** The servers' --log-level (default warn). */
  logLevel?: string;
}

export interface FaultCluster {
  readonly etcd: EtcdCluster;
  /** The proxy the last server reaches etcd through. */
  readonly proxy: TcpProxy;
  /** Node names of the servers: beacon-1, beacon-2, … */
  readonly names: readonly string[];
  /** http://127.0.0.1:<port> of each server (the same across restarts). */
  readonly urls: readonly string[];
  /** Index of the server behind the proxy. */
  readonly proxied: number;
  /** Whether server `i` runs and is not paused. */
  answering(i: number): boolean;
  /** Whether server `i`'s process runs (paused or not). */
  running(i: number): boolean;
  /** Everything server `i` logged, across its restarts. */
  log(i: number): string;
  killServer(i: number): Promise<void>;
  /** Starts server `i` again on its port and data dir; resolves once it is a member seen by every answering server. */
  restartServer(i: number): Promise<void>;
  pauseServer(i: number): void;
  resumeServer(i: number): void;
  /** Waits until every answering server lists exactly the answering servers as peers. */
  waitForPeers(expected: readonly number[], timeoutMs: number): Promise<number>;
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET a JSON path from a server; undefined when it does not answer 200 in time. */
export async function getJson<T>(url: string, path: string, timeoutMs = 2000): Promise<T | undefined> {
  try {
    const res = await request(url + path, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.body.text();
    return res.statusCode === 200 ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
}

export async function startFaultCluster(opts: FaultClusterOptions): Promise<FaultCluster> {
  const n = opts.servers ?? 3;
  const etcd = await startEtcdCluster();
  const proxy = await startTcpProxy(etcd.endpoints.map((e) => e.replace(/^http:\/\//, '')));
  const names = Array.from({ length: n }, (_, i) => `beacon-${i + 1}`);
  const proxied = n - 1;
  const dirs = names.map((name) => tempDir(`beacon-fault-${name}-`));
  const procs: (RunningServer | undefined)[] = [];
  const logs: string[] = names.map(() => '');
  const paused = new Set<number>();
  const ports: number[] = [];

  const storeUrl = (i: number): string => (i === proxied ? `etcd://${proxy.addresses.join(',')}` : etcd.url);
  const spawnOne = async (i: number, port: number): Promise<RunningServer> => {
    const s = await startServer({
      dataDir: dirs[i],
      httpAddr: `127.0.0.1:${port}`,
      dnsAddr: 'off',
      readyTimeoutMs: 30_000,
      args: [
        '--store',
        storeUrl(i),
        '--node',
        names[i],
        '--session-ttl',
        `${opts.sessionTtlSeconds}s`,
        '--shutdown-grace',
        '1s',
        '--log-level',
        opts.logLevel ?? 'warn',
      ],
    });
    procs[i] = s;
    return s;
  };

  const answering = (i: number): boolean => procs[i] !== undefined && !paused.has(i);
  const flushLog = (i: number): void => {
    const p = procs[i];
    if (p) logs[i] += p.output();
  };

  const cluster: FaultCluster = {
    etcd,
    proxy,
    names,
    get urls() {
      return ports.map((p) => `http://127.0.0.1:${p}`);
    },
    proxied,
    answering,
    running: (i) => procs[i] !== undefined,
    log: (i) => logs[i] + (procs[i]?.output() ?? ''),
    async killServer(i) {
      const p = procs[i];
      if (!p) return;
      paused.delete(i);
      await p.kill();
      flushLog(i);
      procs[i] = undefined;
    },
    async restartServer(i) {
      if (procs[i]) return;
      // The port was free a moment ago; another process may take it meanwhile, so retry a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          await spawnOne(i, ports[i]);
          break;
        } catch (err) {
          if (attempt === 5) throw err;
          await sleep(500);
        }
      }
      await cluster.waitForPeers(
        names.map((_, j) => j).filter((j) => answering(j)),
        30_000,
      );
    },
    pauseServer(i) {
      procs[i]?.proc.kill('SIGSTOP');
      paused.add(i);
    },
    resumeServer(i) {
      procs[i]?.proc.kill('SIGCONT');
      paused.delete(i);
    },
    async waitForPeers(expected, timeoutMs) {
      const t0 = Date.now();
      const want = expected.map((i) => `127.0.0.1:${ports[i]}`).sort();
      let last = '';
      while (Date.now() - t0 < timeoutMs) {
        const seen = await Promise.all(expected.map((i) => getJson<string[]>(cluster.urls[i], '/v1/status/peers')));
        const ok = seen.every((p) => p !== undefined && JSON.stringify([...p].sort()) === JSON.stringify(want));
        if (ok) return Date.now() - t0;
        last = JSON.stringify(seen);
        await sleep(200);
      }
      throw new Error(`servers ${expected.join(',')} did not all list exactly ${want.join(', ')} as peers within ${timeoutMs} ms (last: ${last})`);
    },
    async cleanup() {
      for (const i of paused) procs[i]?.proc.kill('SIGCONT');
      paused.clear();
      for (let i = 0; i < n; i++) {
        const p = procs[i];
        procs[i] = undefined;
        if (p) await p.stop({ signal: 'SIGKILL' }).catch(() => undefined);
      }
      await proxy.close().catch(() => undefined);
      await etcd.cleanup();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };

  try {
    for (let i = 0; i < n; i++) {
      const s = await spawnOne(i, 0);
      ports[i] = s.httpPort;
    }
    await cluster.waitForPeers(
      names.map((_, i) => i),
      30_000,
    );
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
  return cluster;
}
