import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';

interface DevClusterFlags {
  servers: string;
  etcdMembers: string;
  httpPort: string;
  dnsPort: string;
  etcdPort: string;
  dataDir?: string;
  keep?: boolean;
  etcd?: string;
  sessionTtl?: string;
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'beacon');

function findEtcd(given: string | undefined): string | undefined {
  if (given) return existsSync(given) ? given : undefined;
  for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

function count(flag: string, v: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${flag} must be a whole number from 1 to ${max} (got "${v}")`);
  return n;
}

function port(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65000) throw new Error(`--${flag} must be a port number (got "${v}")`);
  return n;
}

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs: number, dead: () => string | undefined): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const d = dead();
    if (d) throw new Error(`${what}: ${d}`);
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not ready within ${Math.round(timeoutMs / 1000)}s`);
}

/**
 * `beacon dev cluster`: a whole cluster on this machine for trying cluster mode — etcd members
 * and Beacon servers on loopback, each in a data dir of its own — stopped together on Ctrl-C.
 */
export function devCommand(): Command {
  const dev = new Command('dev').description('Development helpers');
  dev
    .command('cluster')
    .description('Start etcd members and Beacon servers on loopback (cluster mode) and stop them all on Ctrl-C')
    .option('--servers <n>', 'Beacon servers to start', '3')
    .option('--etcd-members <n>', 'etcd members to start', '3')
    .option('--http-port <port>', 'HTTP port of the first server (the next ones count up)', '8500')
    .option('--dns-port <port>', 'DNS port of the first server (the next ones count up)', '8600')
    .option('--etcd-port <port>', 'client port of the first etcd member (each member takes port+10*i, peer port +1)', '2379')
    .option('--data-dir <dir>', 'where the members and servers keep their data (default a temporary directory)')
    .option('--keep', 'keep the data directory on exit (it is removed by default when temporary)')
    .option('--etcd <path>', 'the etcd binary (default: found on PATH or /usr/bin/etcd)')
    .option('--session-ttl <duration>', "passed on to every server's --session-ttl")
    .addHelpText(
      'after',
      `
Needs etcd (Debian: apt-get install etcd-server).

Example:
  beacon dev cluster
  curl -X PUT -d '{"Name":"web","Port":8080,"Check":{"TTL":"30s"}}' http://127.0.0.1:8500/v1/agent/service/register
  curl http://127.0.0.1:8502/v1/catalog/service/web
  curl http://127.0.0.1:8501/v1/status/peers`,
    )
    .action(async (flags: DevClusterFlags) => {
      const procs: Proc[] = [];
      let dir: string | undefined;
      let temporary = false;
      let stopping = false;
      let ready = false;
      const stopAll = async (code: number) => {
        if (stopping) return;
        stopping = true;
        // Beacon servers first (they leave cleanly), then etcd.
        for (const group of [procs.filter((p) => p.name.startsWith('beacon')), procs.filter((p) => p.name.startsWith('etcd'))]) {
          for (const p of group) if (p.child.exitCode === null) p.child.kill('SIGTERM');
          await Promise.race([Promise.all(group.map((p) => p.exited)), new Promise((r) => setTimeout(r, 10_000))]);
          for (const p of group) if (p.child.exitCode === null) p.child.kill('SIGKILL');
        }
        if (dir && temporary && !flags.keep) rmSync(dir, { recursive: true, force: true });
        else if (dir) process.stdout.write(`data kept in ${dir}\n`);
        process.exit(code);
      };
      try {
        const nServers = count('servers', flags.servers, 9);
        const nEtcd = count('etcd-members', flags.etcdMembers, 7);
        const httpPort = port('http-port', flags.httpPort);
        const dnsPort = port('dns-port', flags.dnsPort);
        const etcdPort = port('etcd-port', flags.etcdPort);
        const etcd = findEtcd(flags.etcd);
        if (!etcd)
          throw new Error(`etcd not found${flags.etcd ? ` at ${flags.etcd}` : ''}: install it (Debian: apt-get install etcd-server) or pass --etcd PATH`);
        temporary = flags.dataDir === undefined;
        dir = flags.dataDir ? resolve(flags.dataDir) : mkdtempSync(join(tmpdir(), 'beacon-dev-cluster-'));
        mkdirSync(dir, { recursive: true });
        process.on('SIGINT', () => void stopAll(0));
        process.on('SIGTERM', () => void stopAll(0));

        const start = (name: string, cmd: string, args: string[]): Proc => {
          const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
          let tail = '';
          const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-2000));
          child.stdout?.on('data', keep);
          child.stderr?.on('data', keep);
          const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
          const p: Proc = { name, child, exited };
          void exited.then((c) => {
            if (stopping) return;
            if (!ready) {
              process.stderr.write(`${name} exited (${c}) while starting; its last output:\n${tail}\n`);
              void stopAll(1);
              return;
            }
            // Once running, a member that dies (or is killed to see what happens) is reported;
            // the rest keep running.
            process.stderr.write(`${name} exited (${c === null ? 'killed' : `code ${c}`}); the others keep running\n`);
            if (procs.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)) void stopAll(1);
          });
          procs.push(p);
          return p;
        };
        const deadOf = (ps: Proc[]) => () => {
          const d = ps.find((p) => p.child.exitCode !== null);
          return d ? `${d.name} exited with code ${d.child.exitCode}` : undefined;
        };

        const members = Array.from({ length: nEtcd }, (_, i) => ({ name: `etcd-${i + 1}`, client: etcdPort + 10 * i, peer: etcdPort + 10 * i + 1 }));
        const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
        const etcdProcs = members.map((m) =>
          start(m.name, etcd, [
            '--name',
            m.name,
            '--data-dir',
            join(dir!, m.name),
            '--listen-client-urls',
            `http://127.0.0.1:${m.client}`,
            '--advertise-client-urls',
            `http://127.0.0.1:${m.client}`,
            '--listen-peer-urls',
            `http://127.0.0.1:${m.peer}`,
            '--initial-advertise-peer-urls',
            `http://127.0.0.1:${m.peer}`,
            '--initial-cluster',
            initial,
            '--initial-cluster-state',
            'new',
            '--initial-cluster-token',
            'beacon-dev-cluster',
          ]),
        );
        process.stdout.write(`starting ${nEtcd} etcd member(s) in ${dir} ...\n`);
        await waitFor(
          'etcd',
          async () => {
            const res = await fetch(`http://127.0.0.1:${members[0].client}/health`, { signal: AbortSignal.timeout(1000) });
            return res.ok && ((await res.json()) as { health?: string }).health === 'true';
          },
          60_000,
          deadOf(etcdProcs),
        );
        const storeUrl = `etcd://${members.map((m) => `127.0.0.1:${m.client}`).join(',')}`;
        for (const m of members) process.stdout.write(`  ${m.name}: client http://127.0.0.1:${m.client}, peer http://127.0.0.1:${m.peer}\n`);

        const servers = Array.from({ length: nServers }, (_, i) => ({ name: `beacon-${i + 1}`, http: httpPort + i, dns: dnsPort + i }));
        const serverProcs = servers.map((s) =>
          start(s.name, process.execPath, [
            BIN,
            'server',
            '--store',
            storeUrl,
            '--node',
            s.name,
            '--http-addr',
            `127.0.0.1:${s.http}`,
            '--dns-addr',
            `127.0.0.1:${s.dns}`,
            '--data-dir',
            join(dir!, s.name),
            ...(flags.sessionTtl ? ['--session-ttl', flags.sessionTtl] : []),
          ]),
        );
        process.stdout.write(`starting ${nServers} Beacon server(s) on ${storeUrl} ...\n`);
        for (const s of servers) {
          await waitFor(
            s.name,
            async () => {
              const res = await fetch(`http://127.0.0.1:${s.http}/v1/status/peers`, { signal: AbortSignal.timeout(1000) });
              return res.ok;
            },
            60_000,
            deadOf(serverProcs),
          );
        }
        for (const s of servers) process.stdout.write(`  ${s.name}: http://127.0.0.1:${s.http}  dns 127.0.0.1:${s.dns}\n`);
        ready = true;
        process.stdout.write(`cluster ready: ${nEtcd} etcd member(s), ${nServers} Beacon server(s). Ctrl-C stops them all.\n`);
      } catch (err) {
        process.stderr.write(`beacon dev cluster: ${(err as Error).message}\n`);
        await stopAll(1);
      }
    });
  return dev;
}
