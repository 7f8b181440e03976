/**
 * A real etcd cluster on loopback for tests: three members by default (Debian's `etcd-server`,
 * etcd 3.4), each with its own temp data dir and free client and peer ports, short heartbeat and
 * election timeouts. `startEtcdCluster()` resolves once a quorum answers; the helpers kill,
 * pause, resume and restart single members and find the leader through etcd's JSON gateway.
 *
 * Always call `cleanup()` (afterAll). A test process that exits without it still takes its etcd
 * members with it: an exit hook kills them, and a small watchdog started with the cluster kills
 * them and removes the temp dir if the test process dies without running its exit hooks.
 *
 * @example
 * const cluster = await startEtcdCluster();
 * const store = await openStore(cluster.url);   // etcd://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
 * await cluster.stopMember(await cluster.leaderIndex());
 * await cluster.startMember(i);
 * await cluster.cleanup();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './tools.js';

export interface EtcdClusterOptions {
  /** Members (default 3). */
  members?: number;
  /** etcd's `--quota-backend-bytes` (default etcd's own, 2 GiB): small values make NOSPACE tests quick. */
  quotaBackendBytes?: number;
  /** How long to wait for the cluster to answer (default 30 s). */
  readyTimeoutMs?: number;
}

export interface EtcdCluster {
  /** Client URLs, `http://127.0.0.1:<port>`, one per member in member order. */
  readonly endpoints: readonly string[];
  /** The store URL naming every member: `etcd://127.0.0.1:<p1>,127.0.0.1:<p2>,…`. */
  readonly url: string;
  readonly size: number;
  /** SIGKILL member `i` and wait until it has exited. Its data dir stays for {@link startMember}. */
  stopMember(i: number): Promise<void>;
  /** SIGSTOP member `i`: its process and sockets stay, it answers nothing. */
  pauseMember(i: number): void;
  /** SIGCONT member `i`. */
  resumeMember(i: number): void;
  /**
   * Starts a stopped member again on its data dir (`--initial-cluster-state existing`) and, unless
   * `wait` is false, waits until it answers (which needs a quorum: with every member stopped,
   * start them with `wait: false`, then {@link waitReady}).
   */
  startMember(i: number, opts?: { wait?: boolean }): Promise<void>;
  /** Index of the current leader (waits, bounded, while there is none). */
  leaderIndex(): Promise<number>;
  /** Whether member `i` has a running process (paused members count as running). */
  isRunning(i: number): boolean;
  /** Waits until a quorum answers a linearizable read through a running member. */
  waitReady(timeoutMs?: number): Promise<void>;
  /**
   * Posts to etcd's JSON gateway (`/v3/…`) on a running member, e.g.
   * `call('/v3/maintenance/alarm', { action: 'GET' })`; rejects on an HTTP error.
   */
  call(path: string, body: unknown, member?: number): Promise<Record<string, unknown>>;
  /** SIGKILL every member (data dirs stay). */
  stopAll(): Promise<void>;
  /** Kills every member and removes the temp dirs. Safe to call twice. */
  cleanup(): Promise<void>;
}

const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;

/** The etcd binary: /usr/bin/etcd or the one on PATH; throws saying how to install it. */
export function etcdBinary(): string {
  if (existsSync('/usr/bin/etcd')) return '/usr/bin/etcd';
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  throw new Error("etcd is not installed: run `bash scripts/ensure-tools.sh` (it installs Debian's etcd-server) and run the tests again");
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  output: string;
  id: string | undefined;
}

const live = new Set<ChildProcess>();
const roots = new Set<string>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts a cluster, retrying with other ports if a member cannot bind one it was given. */
export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const binary = etcdBinary();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const cluster = new LocalEtcdCluster(binary, opts);
    try {
      await cluster.start();
      return cluster;
    } catch (err) {
      lastError = err;
      await cluster.cleanup();
    }
  }
  throw lastError;
}

class LocalEtcdCluster implements EtcdCluster {
  readonly root: string;
  readonly members: Member[] = [];
  private readonly token = `beacon-test-${randomUUID().slice(0, 8)}`;
  private watchdog: ChildProcess | undefined;
  private cleaned = false;

  constructor(
    private readonly binary: string,
    private readonly opts: EtcdClusterOptions,
  ) {
    this.root = mkdtempSync(join(tmpdir(), 'beacon-etcd-'));
    roots.add(this.root);
  }

  get size(): number {
    return this.members.length;
  }

  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  get url(): string {
    return `etcd://${this.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',')}`;
  }

  async start(): Promise<void> {
    const n = this.opts.members ?? 3;
    const ports = new Set<number>();
    while (ports.size < 2 * n) ports.add(await freePort());
    const list = [...ports];
    for (let i = 0; i < n; i++) {
      const dataDir = join(this.root, `m${i}`);
      mkdirSync(dataDir);
      this.members.push({
        name: `m${i}`,
        clientPort: list[2 * i],
        peerPort: list[2 * i + 1],
        dataDir,
        proc: undefined,
        exited: undefined,
        output: '',
        id: undefined,
      });
    }
    this.startWatchdog();
    for (let i = 0; i < n; i++) this.spawnMember(i, 'new');
    await this.waitReady(this.opts.readyTimeoutMs ?? 30_000);
    // Member ids, to name the leader by index.
    for (let i = 0; i < n; i++) {
      const status = await this.call('/v3/maintenance/status', {}, i);
      this.members[i].id = String((status.header as { member_id: string }).member_id);
    }
  }

  isRunning(i: number): boolean {
    return this.members[i].proc !== undefined;
  }

  async stopMember(i: number): Promise<void> {
    const m = this.member(i);
    const { proc, exited } = m;
    if (proc === undefined) return;
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await exited;
  }

  pauseMember(i: number): void {
    const proc = this.member(i).proc;
    if (proc === undefined) throw new Error(`etcd member ${i} is not running`);
    proc.kill('SIGSTOP');
  }

  resumeMember(i: number): void {
    this.member(i).proc?.kill('SIGCONT');
  }

  async startMember(i: number, opts: { wait?: boolean } = {}): Promise<void> {
    if (this.member(i).proc !== undefined) return;
    this.spawnMember(i, 'existing');
    if (opts.wait !== false) await this.untilAnswers(i, this.opts.readyTimeoutMs ?? 30_000);
  }

  async leaderIndex(): Promise<number> {
    const deadline = Date.now() + 20_000;
    let last = 'no member answered';
    while (Date.now() < deadline) {
      for (let i = 0; i < this.members.length; i++) {
        if (!this.isRunning(i)) continue;
        try {
          const status = await this.call('/v3/maintenance/status', {}, i, 1000);
          const leader = typeof status.leader === 'string' ? status.leader : '0';
          const idx = this.members.findIndex((m) => m.id === leader);
          if (idx >= 0 && this.isRunning(idx)) return idx;
          last = `member ${i} knows no live leader (${leader})`;
        } catch (err) {
          last = (err as Error).message;
        }
      }
      await sleep(100);
    }
    throw new Error(`etcd has no leader after 20 s: ${last}`);
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (let i = 0; i < this.members.length; i++) {
        if (!this.isRunning(i)) continue;
        try {
          // A linearizable read: answered only with a leader and a quorum.
          await this.call('/v3/kv/range', { key: Buffer.from('\0').toString('base64') }, i, 2000);
          return;
        } catch (err) {
          last = (err as Error).message;
        }
      }
      const dead = this.members.find((m) => m.proc === undefined && m.exited !== undefined && m.output !== '');
      if (dead && /address already in use|bind:/i.test(dead.output))
        throw new Error(`etcd member ${dead.name} could not bind its ports:\n${dead.output.slice(-2000)}`);
      await sleep(100);
    }
    throw new Error(
      `etcd cluster did not answer within ${timeoutMs} ms (${last}); output:\n${this.members.map((m) => `--- ${m.name}\n${m.output.slice(-1500)}`).join('\n')}`,
    );
  }

  async call(path: string, body: unknown, member?: number, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const i = member ?? this.members.findIndex((_, j) => this.isRunning(j));
    if (i < 0) throw new Error('no etcd member is running');
    const res = await fetch(`http://127.0.0.1:${this.member(i).clientPort}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`etcd ${path} on member ${i}: HTTP ${res.status} ${text}`);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (typeof parsed.error === 'string') throw new Error(`etcd ${path} on member ${i}: ${parsed.error}`);
    return parsed;
  }

  async stopAll(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.stopMember(i);
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    await this.stopAll();
    this.watchdog?.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
    roots.delete(this.root);
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (m === undefined) throw new Error(`no etcd member ${i} (the cluster has ${this.members.length})`);
    return m;
  }

  private spawnMember(i: number, state: 'new' | 'existing'): void {
    const m = this.member(i);
    const peers = this.members.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
    const args = [
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster',
      peers,
      '--initial-cluster-state',
      state,
      '--initial-cluster-token',
      this.token,
      '--heartbeat-interval',
      String(HEARTBEAT_MS),
      '--election-timeout',
      String(ELECTION_MS),
      '--logger',
      'zap',
      '--log-level',
      'error',
      '--log-outputs',
      'stderr',
    ];
    if (this.opts.quotaBackendBytes !== undefined) args.push('--quota-backend-bytes', String(this.opts.quotaBackendBytes));
    const proc = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    m.proc = proc;
    m.output = '';
    live.add(proc);
    const keep = (chunk: Buffer): void => {
      m.output = (m.output + chunk.toString('utf8')).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const pidFile = join(this.root, `${m.name}.pid`);
    if (proc.pid !== undefined) writeFileSync(pidFile, String(proc.pid));
    m.exited = new Promise((resolve) => {
      proc.once('exit', () => {
        live.delete(proc);
        if (m.proc === proc) m.proc = undefined;
        rmSync(pidFile, { force: true });
        resolve();
      });
      proc.once('error', (err) => {
        m.output += `\nspawn failed: ${err.message}`;
      });
    });
  }

  /** Waits until member `i` itself answers a linearizable read. */
  private async untilAnswers(i: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (!this.isRunning(i)) throw new Error(`etcd member ${i} exited while starting:\n${this.member(i).output.slice(-2000)}`);
      try {
        await this.call('/v3/kv/range', { key: Buffer.from('\0').toString('base64') }, i, 2000);
        return;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`etcd member ${i} did not answer within ${timeoutMs} ms (${last})`);
  }

  /**
   * A detached shell that outlives this process: once this process is gone, it kills the
   * members still listed in their pid files and removes the temp dir.
   */
  private startWatchdog(): void {
    const script = [
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
      'for f in "$2"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done',
      'rm -rf "$2"',
    ].join('\n');
    const dog = spawn('sh', ['-c', script, 'etcd-watchdog', String(process.pid), this.root], { detached: true, stdio: 'ignore' });
    dog.unref();
    this.watchdog = dog;
  }
}
