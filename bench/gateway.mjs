// beacon gateway against the alternatives, side by side in one run, on the same three static
// backends (bare node:http child processes answering a fixed 100-byte body):
//   1. throughput and p99 of GET / through: Beacon's gateway (routing by a urlprefix- tag,
//      p2c-ewma, retries and metrics on); HAProxy (Debian's haproxy, one thread, round robin,
//      keep-alive to the backends); and a minimal undici pass-through written for this bench
//      (bench/lib/undici-passthrough.mjs), the floor of a Node.js proxy. Alternating rounds, medians.
//      Goals: gateway >= 0.5x HAProxy's requests/s with p99 <= 2x HAProxy's; >= 0.9x the pass-through.
//   2. error rate of GETs while one of three backends is SIGKILLed under load (still registered:
//      the gateway sees refused connections and retries them). Goal: under 0.1 %.
//
// Usage: npm run build && node bench/gateway.mjs [--seconds 4] [--rounds 5] [--connections 32]
// Needs haproxy (scripts/ensure-tools.sh --bench) and wrk (installed on first use when root).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBare } from './lib/bare.mjs';
import { REPO_ROOT, requireBuild, startBeacon } from './lib/beacon.mjs';
import { stopChild, tempDir, trackChild } from './lib/cleanup.mjs';
import { freePort } from './lib/etcd.mjs';
import { getLoad } from './lib/load.mjs';
import { busyLine, machineLine, pinned, which } from './lib/machine.mjs';
import { fmtInt, fmtMs, fmtRatio, median, printTable } from './lib/stats.mjs';

requireBuild('bench/gateway.mjs');
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);

const haproxyBin = which('haproxy') ?? (which('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : null) ?? '/usr/sbin/haproxy';
const BODY = Buffer.from('x'.repeat(99) + '\n');
const REC = { status: 200, headers: { 'content-type': 'text/plain' }, body: BODY };

/** Spawns a server-role child and waits for `pattern` on its stdout; resolves { proc, port }. */
async function startProc(name, cmd, args, pattern) {
  const [c, a] = pinned('server', cmd, args);
  const proc = trackChild(spawn(c, a, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stderr.on('data', (d) => (out += d));
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} not ready:\n${out}`)), 30_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
  });
  return { proc, port, output: () => out };
}

async function startHaproxy(backendPorts) {
  const port = await freePort();
  const cfg = join(tempDir('beacon-bench-haproxy-'), 'haproxy.cfg');
  writeFileSync(
    cfg,
    [
      'global',
      '  nbthread 1',
      '  maxconn 4000',
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  option http-keep-alive',
      '  http-reuse always',
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      '  default_backend be',
      'backend be',
      '  balance roundrobin',
      '  retries 3',
      '  option redispatch 1',
      ...backendPorts.map((p, i) => `  server s${i} 127.0.0.1:${p}`),
      '',
    ].join('\n'),
  );
  const [c, a] = pinned('server', haproxyBin, ['-db', '-f', cfg]);
  const proc = trackChild(spawn(c, a, { stdio: ['ignore', 'ignore', 'inherit'] }));
  // Ready once it accepts a request.
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      await r.text();
      if (r.ok) return { proc, port };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('haproxy did not start');
}

async function register(beaconUrl, service, id, port, tags) {
  const r = await fetch(`${beaconUrl}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ Name: service, ID: id, Address: '127.0.0.1', Port: port, Tags: tags }),
  });
  if (!r.ok) throw new Error(`register ${id}: ${r.status} ${await r.text()}`);
}

async function waitOk(url, what) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url);
      await r.text();
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} never answered 200`);
}

console.log(`gateway: GET / through each proxy, ${CONNECTIONS} connections, ${SECONDS}s x ${ROUNDS} rounds per target, 3 static backends`);
console.log(`machine: ${machineLine()}`);

const backends = [await startBare(REC), await startBare(REC), await startBare(REC)];
const backendPorts = backends.map((b) => Number(new URL(b.url).port));
const beacon = await startBeacon();
for (let i = 0; i < 3; i++) await register(beacon.url, 'web', `web-${i}`, backendPorts[i], ['urlprefix-/']);
const BIN = fileURLToPath(new URL('../bin/beacon', import.meta.url));
const gateway = await startProc(
  'beacon gateway',
  process.execPath,
  [BIN, 'gateway', '--listen', '127.0.0.1:0', '--server', beacon.url],
  /listen=127\.0\.0\.1:(\d+)/,
);
const haproxy = await startHaproxy(backendPorts);
const passthrough = await startProc(
  'undici pass-through',
  process.execPath,
  [fileURLToPath(new URL('./lib/undici-passthrough.mjs', import.meta.url)), backendPorts.join(',')],
  /passthrough ready (\d+)/,
);
await waitOk(`http://127.0.0.1:${gateway.port}/`, 'the gateway');
await waitOk(`http://127.0.0.1:${passthrough.port}/`, 'the pass-through');

const targets = [
  { name: 'beacon gateway', port: gateway.port, pid: gateway.proc.pid },
  {
    name: `HAProxy ${(await import('node:child_process')).execFileSync(haproxyBin, ['-v'], { encoding: 'utf8' }).split(' ')[2]}`,
    port: haproxy.port,
    pid: haproxy.proc.pid,
  },
  { name: 'undici pass-through', port: passthrough.port, pid: passthrough.proc.pid },
];
const results = new Map(targets.map((t) => [t.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
    const r = await getLoad({
      origin: `http://127.0.0.1:${t.port}`,
      path: '/',
      connections: CONNECTIONS,
      seconds: SECONDS,
      warmupSeconds: 1,
      serverPid: t.pid,
    });
    results.get(t.name).push(r);
  }
}
const rows = targets.map((t) => {
  const rs = results.get(t.name);
  return {
    target: t.name,
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    errors: rs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    cpu: median(rs.map((r) => r.cpuUsPerReq)),
  };
});
const [gw, hap, pt] = rows;
printTable(
  `Throughput (median of ${ROUNDS} rounds, ${results.get(gw.target)[0].generator})`,
  [
    ['target', 'target'],
    ['req/s', 'rpsS'],
    ['p50', 'p50S'],
    ['p99', 'p99S'],
    ['proxy CPU µs/req', 'cpuS'],
    ['errors', 'errors'],
  ],
  rows.map((r) => ({ ...r, rpsS: fmtInt(r.rps), p50S: fmtMs(r.p50), p99S: fmtMs(r.p99), cpuS: fmtInt(r.cpu) })),
);
const verdict = (ok) => (ok ? 'met' : 'MISSED');
// Ratios taken within each round (the targets ran back to back), then the median over rounds:
// steadier on a shared machine than a ratio of medians.
const perRound = (a, b, key) => {
  const ra = results.get(a.target);
  const rb = results.get(b.target);
  const v = ra.map((r, i) => r[key] / rb[i][key]);
  return { median: median(v), range: `${fmtRatio(Math.min(...v))}-${fmtRatio(Math.max(...v))}` };
};
const vsHapRps = perRound(gw, hap, 'rps');
const vsHapP99 = perRound(gw, hap, 'p99');
const vsPt = perRound(gw, pt, 'rps');
console.log(`\ngateway / HAProxy req/s:       ${fmtRatio(vsHapRps.median)} (rounds ${vsHapRps.range})  goal >= 0.50x: ${verdict(vsHapRps.median >= 0.5)}`);
console.log(`gateway / HAProxy p99:         ${fmtRatio(vsHapP99.median)} (rounds ${vsHapP99.range})  goal <= 2.00x: ${verdict(vsHapP99.median <= 2)}`);
console.log(`gateway / undici pass-through: ${fmtRatio(vsPt.median)} (rounds ${vsPt.range})  goal >= 0.90x: ${verdict(vsPt.median >= 0.9)}`);
console.log(`proxy CPU per request, gateway / pass-through: ${fmtRatio(gw.cpu / pt.cpu)}`);

// 2. One of three instances SIGKILLed under load, through the gateway.
const killBackends = [await startBare(REC), await startBare(REC), await startBare(REC)];
for (let i = 0; i < 3; i++) await register(beacon.url, 'kill', `kill-${i}`, Number(new URL(killBackends[i].url).port), ['urlprefix-/kill']);
await waitOk(`http://127.0.0.1:${gateway.port}/kill`, 'the kill route');
const KILL_SECONDS = Math.max(6, SECONDS * 2);
const killAt = setTimeout(() => killBackends[0].proc.kill('SIGKILL'), (KILL_SECONDS * 1000) / 3);
const k = await getLoad({ origin: `http://127.0.0.1:${gateway.port}`, path: '/kill', connections: CONNECTIONS, seconds: KILL_SECONDS, warmupSeconds: 0 });
clearTimeout(killAt);
const failed = k.errors + k.non2xx;
const total = k.requests + k.non2xx + k.errors;
const rate = failed / total;
printTable(
  `One of three instances SIGKILLed a third into ${KILL_SECONDS}s of load (still registered)`,
  [
    ['target', 'target'],
    ['requests', 'total'],
    ['failed', 'failed'],
    ['error rate', 'rate'],
    ['p99', 'p99'],
  ],
  [{ target: 'beacon gateway', total: fmtInt(total), failed: fmtInt(failed), rate: `${(rate * 100).toFixed(3)} %`, p99: fmtMs(k.p99) }],
);
console.log(`\nerror rate with an instance killed: ${(rate * 100).toFixed(3)} %  (goal < 0.1 %: ${verdict(rate < 0.001)})`);
console.log(`busy: ${busyLine()}`);

await Promise.all([
  stopChild(gateway.proc),
  stopChild(haproxy.proc),
  stopChild(passthrough.proc),
  beacon.stop(),
  ...backends.map((b) => b.stop()),
  ...killBackends.map((b) => b.stop()),
]);
