/**
 * Runs the real `dig` (Debian's dnsutils) and parses its output. ensureDig() finds it and, when
 * missing and running as root, installs it with apt-get; otherwise it fails with what to do.
 */
import { execFileSync, spawnSync, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

let digPath: string | undefined;

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p && existsSync(p) ? p : undefined;
}

/** Installs Debian packages when missing (root only); apt-get update first if the install fails. */
export function ensureDebianTool(cmd: string, packages: string[]): string {
  const found = which(cmd);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`${cmd} is not installed and this is not root: run "sudo apt-get install -y ${packages.join(' ')}"`);
  }
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 300_000,
    });
  let r = install();
  if (r.status !== 0) {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
    r = install();
  }
  const path = which(cmd);
  if (!path) throw new Error(`could not install ${packages.join(' ')} for ${cmd}:\n${r.stderr}`);
  return path;
}

export function ensureDig(): string {
  digPath ??= ensureDebianTool('dig', ['dnsutils']);
  return digPath;
}

export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** The UDP size in the answer's OPT record, when there is one. */
  ednsUdp: number | undefined;
  raw: string;
}

/**
 * `dig @<server> -p <port> <args>` (server 127.0.0.1 by default) with one try and a short timeout. Pass +tcp, +noedns,
 * +bufsize=N, +ignore (do not retry over TCP on TC) and so on in args.
 */
export function dig(port: number, args: string[], server = '127.0.0.1'): Promise<DigResult> {
  const bin = ensureDig();
  const argv = [`@${server}`, '-p', String(port), '+tries=1', '+time=3', '+nocookie', ...args];
  return new Promise((resolve, reject) => {
    execFile(bin, argv, { timeout: 15_000, encoding: 'utf8' }, (err, stdout) => {
      if (err instanceof Error && !stdout) return reject(err);
      resolve(parseDig(stdout));
    });
  });
}

export function parseDig(out: string): DigResult {
  const status = /status: (\w+)/.exec(out)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([^;]*);/.exec(out)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const udp = /; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.exec(out)?.[1];
  const sections: Record<string, DigRecord[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: DigRecord[] | undefined;
  for (const line of out.split('\n')) {
    const h = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (h) {
      current = sections[h[1]];
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      if (line.trim() === '') current = undefined;
      continue;
    }
    if (!current) continue;
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (m) current.push({ name: m[1], ttl: Number(m[2]), type: m[3], data: m[4].trim() });
  }
  return {
    status,
    flags,
    answer: sections.ANSWER,
    authority: sections.AUTHORITY,
    additional: sections.ADDITIONAL,
    ednsUdp: udp === undefined ? undefined : Number(udp),
    raw: out,
  };
}
