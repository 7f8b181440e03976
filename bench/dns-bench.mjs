// DNS queries per second, side by side in one run, with Debian's dnsperf against:
//   (a) Beacon's DNS server (dist/, real embedded store + catalog, answer cache on),
//   (b) a trivial dns-packet responder answering the same records (decode + encode per query),
//   (c) NSD (C authoritative server, one process, RRL off) serving the same records from a zone file.
// All three run at once (idle while not measured); measurement rounds interleave the targets
// so a noisy neighbour on the shared machine hits all of them alike. Each round gives each target
// a throughput run (dnsperf, 100 queries outstanding) and a latency run at a fixed rate (p50/p99
// from dnsperf -v per-query latencies). Prints per-round figures, medians and ratios of medians.
// Usage: npm run build && node bench/dns-bench.mjs [rounds=3] [throughputSeconds=4]  (~1 minute)
// Installs dnsperf and nsd with apt-get when missing (root only).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUERIES } from './dns/records.mjs';
import { startNsd } from './dns/nsd.mjs';

const ROUNDS = Number(process.argv[2] ?? 3);
const THROUGHPUT_S = Number(process.argv[3] ?? 4);
const LATENCY_S = 2;
const LATENCY_QPS = 2000;
const here = new URL('.', import.meta.url).pathname;

if (!existsSync(new URL('../dist/dns/index.js', import.meta.url))) {
  console.error('bench/dns-bench.mjs: dist/dns/index.js is missing; run `npm run build` first');
  process.exit(1);
}

function which(cmd) {
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/bin', '/sbin']) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

function ensureTools() {
  if (which('dnsperf') && which('nsd')) return;
  if (process.getuid?.() !== 0) {
    console.error('dnsperf and nsd are needed: sudo apt-get install -y dnsperf nsd');
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'dnsperf', 'nsd'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', 'dnsperf', 'nsd'], { stdio: 'inherit', env });
  }
  // The Debian package starts an nsd service on port 53; the bench runs its own.
  spawnSync('sh', ['-c', 'command -v systemctl >/dev/null && systemctl stop nsd || pkill -x nsd -u nsd || true'], { stdio: 'ignore' });
  if (!which('dnsperf') || !which('nsd')) {
    console.error('could not install dnsperf and nsd');
    process.exit(1);
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a node child that prints "READY <port>". */
function startChild(script) {
  const proc = spawn(process.execPath, [join(here, 'dns', script)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${script} not ready: ${out}`)), 20_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ proc, port: Number(m[1]), output: () => out });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${script} exited ${code}: ${out}`));
    });
  });
}

/** Waits until a UDP DNS server on port answers. */
async function waitForDns(port) {
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(which('dig') ?? 'dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=1', 'web.service.consul', 'A'], { encoding: 'utf8' });
    if (r.stdout?.includes('status: NOERROR')) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

function dnsperf(args) {
  return new Promise((resolve) => {
    const p = spawn(which('dnsperf'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', () => resolve(out));
  });
}

async function measure(port, queryFile) {
  const t = await dnsperf(['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(THROUGHPUT_S), '-T', '1', '-c', '1', '-q', '100']);
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(t)?.[1] ?? NaN);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(t)?.[1] ?? NaN);
  const l = await dnsperf([
    '-s',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    queryFile,
    '-l',
    String(LATENCY_S),
    '-T',
    '1',
    '-c',
    '1',
    '-Q',
    String(LATENCY_QPS),
    '-v',
  ]);
  const lat = [...l.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : NaN);
  return { qps, lost, p50: pct(0.5), p99: pct(0.99), samples: lat.length };
}

async function stop(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((res) => proc.once('exit', res));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

ensureTools();
const dir = mkdtempSync(join(tmpdir(), 'beacon-bench-dnsperf-'));
const queryFile = join(dir, 'queries.txt');
writeFileSync(queryFile, `${QUERIES.map(([n, t]) => `${n} ${t}`).join('\n')}\n`);
const names = ['beacon', 'dns-packet', 'nsd'];
const targets = {};
const rounds = Object.fromEntries(names.map((n) => [n, []]));
try {
  targets.beacon = await startChild('beacon-child.mjs');
  targets['dns-packet'] = await startChild('trivial-child.mjs');
  const nsdDir = join(dir, 'nsd');
  spawnSync('mkdir', ['-p', nsdDir]);
  const nsdPort = await freePort();
  targets.nsd = { proc: startNsd(which('nsd'), nsdDir, nsdPort), port: nsdPort };
  for (const n of names) {
    await waitForDns(targets[n].port);
    // Warm-up: fills Beacon's answer cache and lets V8 compile the hot path.
    await dnsperf(['-s', '127.0.0.1', '-p', String(targets[n].port), '-d', queryFile, '-l', '1', '-T', '1', '-c', '1']);
  }
  console.log(
    `dnsperf 1 thread, ${QUERIES.length} names (A, SRV, NXDOMAIN), ${ROUNDS} rounds of ${THROUGHPUT_S}s throughput + ${LATENCY_S}s at ${LATENCY_QPS} qps per target`,
  );
  for (let r = 1; r <= ROUNDS; r++) {
    for (const n of names) {
      const m = await measure(targets[n].port, queryFile);
      rounds[n].push(m);
      console.log(
        `round ${r} ${n.padEnd(10)} ${Math.round(m.qps).toString().padStart(7)} qps  lost ${m.lost}  p50 ${m.p50.toFixed(3)} ms  p99 ${m.p99.toFixed(3)} ms`,
      );
    }
  }
} finally {
  for (const t of Object.values(targets)) await stop(t.proc);
  rmSync(dir, { recursive: true, force: true });
}
const med = Object.fromEntries(
  names.map((n) => [
    n,
    {
      qps: median(rounds[n].map((m) => m.qps)),
      p50: median(rounds[n].map((m) => m.p50)),
      p99: median(rounds[n].map((m) => m.p99)),
    },
  ]),
);
for (const n of names)
  console.log(`median ${n.padEnd(10)} ${Math.round(med[n].qps).toString().padStart(7)} qps  p50 ${med[n].p50.toFixed(3)} ms  p99 ${med[n].p99.toFixed(3)} ms`);
const b = med.beacon;
console.log(
  `ratios: beacon/dns-packet ${(b.qps / med['dns-packet'].qps).toFixed(2)}x (goal >= 0.8)  beacon/nsd ${(b.qps / med.nsd.qps).toFixed(2)}x (stretch >= 0.5)  beacon p99 ${b.p99.toFixed(3)} ms (goal < 1)`,
);
