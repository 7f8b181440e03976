/**
 * Starts a real `bin/beacon agent` child process on loopback, waits for its ready line, and
 * cleans up on stop. Tests must call stop() (or kill()) in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { BEACON_BIN, REPO_ROOT, tempDir } from './server.js';

export interface AgentStart {
  servers: string[];
  node: string;
  dataDir?: string;
  configDir?: string;
  args?: string[];
  readyTimeoutMs?: number;
}

export interface RunningAgentProc {
  proc: ChildProcess;
  httpUrl: string;
  httpAddr: string;
  /** The DNS port (UDP and TCP on 127.0.0.1). */
  dnsPort: number;
  dataDir: string;
  output(): string;
  stop(opts?: { keepData?: boolean }): Promise<number | null>;
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startAgent(o: AgentStart): Promise<RunningAgentProc> {
  const ownDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? tempDir('beacon-agent-');
  const args = [
    BEACON_BIN,
    'agent',
    ...o.servers.flatMap((s) => ['--server', s]),
    '--http-addr',
    '127.0.0.1:0',
    '--dns-addr',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--node',
    o.node,
    '--log-level',
    'warn',
    ...(o.configDir ? ['--config-dir', o.configDir] : []),
    ...(o.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const timeout = o.readyTimeoutMs ?? 20_000;
  const [addr, dnsPort] = await new Promise<[string, number]>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`beacon agent not ready after ${timeout} ms:\n${out}`)), timeout);
    proc.stdout.on('data', () => {
      const m = /beacon agent ready http=(\S+) dns=\S+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res([m[1], Number(m[2])]);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`beacon agent exited with ${code} before ready:\n${out}`));
    });
  });
  return {
    proc,
    dataDir,
    httpAddr: addr,
    dnsPort,
    httpUrl: `http://${addr}`,
    output: () => out,
    async stop({ keepData = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
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
