// The per-host agent, side by side with its baselines in one run:
//  1. cached HTTP reads: GET /v1/health/service/web (10 instances) on an agent, against a bare
//     node:http server answering the very same bytes (goal: at least 0.8x);
//  2. DNS: dnsperf against the agent's DNS (answered from its cache) and against the trivial
//     dns-packet responder of bench/dns-bench.mjs serving the same records (goal: at least 1x);
//  3. watch fan-out on one agent: W local blocking queries on one service, then one change on the
//     server: upstream watches held, answers p50/p99 after the change (goal: p99 under 1 s) and the
//     agent's memory per waiting query (goal: at most 12 KB);
//  4. the server side: A simulated agents (WebSocket streams speaking the agent protocol), each
//     watching S services (A x S watches over A connections): server memory per watch, and from a
//     change to the last agent holding it (p99 over changes; goal under 1 s).
// Usage: npm run build && node bench/agent.mjs [--seconds 2] [--rounds 4] [--connections 64]
//          [--waiters 20000] [--agents 1000] [--services 100] [--changes 10] [--skip http,dns,fanout,server]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { startBare, record } from './lib/bare.mjs';
import { REPO_ROOT, requireBuild, startBeacon } from './lib/beacon.mjs';
import { stopChild, tempDir, trackChild } from './lib/cleanup.mjs';
import { getJson, pool, putJson } from './lib/http.mjs';
import { getLoad } from './lib/load.mjs';
import { machineLine, pinned } from './lib/machine.mjs';
import { fmtInt, fmtMs, fmtRatio, median, percentile, printTable } from './lib/stats.mjs';
import { NODES, QUERIES, SERVICES } from './dns/records.mjs';

requireBuild('bench/agent.mjs');
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '64' },
    waiters: { type: 'string', default: '19000' },
    agents: { type: 'string', default: '1000' },
    services: { type: 'string', default: '100' },
    changes: { type: 'string', default: '10' },
    skip: { type: 'string', default: '' },
  },
});
const skip = new Set(flags.skip.split(',').filter(Boolean));
const BIN = fileURLToPath(new URL('../bin/beacon', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
console.log(`agent bench; machine: ${machineLine()}`);

const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** One process with the open-file limit raised (root may raise it past the default hard limit). */
const withFiles = (argv) => ['sh', ['-c', 'ulimit -n 100000 2>/dev/null || ulimit -n 20000; exec "$@"', 'sh', process.execPath, ...argv]];

async function startAgent(serverUrl, dnsPort) {
  const dataDir = tempDir('beacon-bench-agent-');
  const [cmd, args] = withFiles([
    BIN,
    'agent',
    '--server',
    serverUrl,
    '--http-addr',
    '127.0.0.1:0',
    '--dns-addr',
    `127.0.0.1:${dnsPort}`,
    '--data-dir',
    dataDir,
    '--node',
    'bench-agent',
    '--log-level',
    'warn',
  ]);
  // Pinned to the server's CPU, as the bare server is: the load generator has the other one.
  const [pcmd, pargs] = pinned('server', cmd, args);
  const proc = trackChild(spawn(pcmd, pargs, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stderr.on('data', (d) => (out += d));
  const m = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`agent not ready: ${out}`)), 30_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const hit = /beacon agent ready http=(\S+):(\d+) dns=\S+:(\d+)/.exec(out);
      if (hit) {
        clearTimeout(t);
        resolve(hit);
      }
    });
  });
  return { proc, url: `http://${m[1]}:${m[2]}`, dnsPort: Number(m[3]), stop: () => stopChild(proc) };
}

function freeUdpPort() {
  const r = spawnSync(
    process.execPath,
    ['-e', "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"],
    {
      encoding: 'utf8',
    },
  );
  return Number(r.stdout.trim());
}

const metric = async (url, name) => {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

const server = await startBeacon();
const setup = pool(server.url, 8);
// The HTTP case's ten instances, and the DNS bench's record set.
for (let i = 0; i < 10; i++) {
  await putJson(setup, '/v1/catalog/register', {
    Node: `node-${i}`,
    Address: `10.1.0.${i + 1}`,
    Service: { ID: `web-${i}`, Service: 'web', Port: 8080, Tags: ['v2', 'primary'], Meta: { version: '2.4.1' } },
    Check: { CheckID: `service:web-${i}`, Name: 'web health', Status: 'passing', ServiceID: `web-${i}`, Output: 'HTTP GET: 200 OK' },
  });
}
for (const [svc, nodes] of Object.entries(SERVICES)) {
  for (const node of nodes) {
    const address = NODES.find((n) => n.node === node).address;
    await putJson(setup, '/v1/catalog/register', { Node: node, Address: address, Service: { ID: `${svc}-${node}`, Service: svc, Port: 8080 } });
  }
}
const agent = await startAgent(server.url, freeUdpPort());
const results = [];

if (!skip.has('http')) {
  const path = '/v1/health/service/web';
  await fetch(agent.url + path).then((r) => r.text());
  const rec = await record(agent.url + path);
  if (rec.headers['x-cache'] !== 'HIT') throw new Error(`expected a cache hit, got ${rec.headers['x-cache']}`);
  const bare = await startBare(rec);
  const ROUNDS = Number(flags.rounds);
  const runs = { agent: [], bare: [] };
  const ratios = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 === 0 ? ['agent', 'bare'] : ['bare', 'agent']) {
      const [origin, pid] = t === 'agent' ? [agent.url, agent.proc.pid] : [bare.url, bare.proc.pid];
      const res = await getLoad({
        origin,
        serverPid: pid,
        path,
        connections: Number(flags.connections),
        seconds: Number(flags.seconds),
        warmupSeconds: r === 0 ? 1 : 0,
      });
      if (res.errors > 0 || res.non2xx > 0) throw new Error(`${t}: ${res.errors} errors, ${res.non2xx} non-2xx`);
      runs[t].push(res);
    }
    ratios.push(runs.agent[r].rps / runs.bare[r].rps);
  }
  await bare.stop();
  const row = (target, list, ratio) => ({
    target,
    bytes: fmtInt(rec.body.length),
    rps: fmtInt(median(list.map((x) => x.rps))),
    p50: fmtMs(median(list.map((x) => x.p50))),
    p99: fmtMs(median(list.map((x) => x.p99))),
    ratio,
  });
  printTable(
    `cached HTTP reads: GET ${path} on the agent vs bare node:http (same bytes), ${flags.connections} connections, ${ROUNDS} rounds of ${flags.seconds}s`,
    [
      ['target', 'target'],
      ['bytes', 'bytes'],
      ['req/s', 'rps'],
      ['p50', 'p50'],
      ['p99', 'p99'],
      ['ratio (median of rounds)', 'ratio'],
    ],
    [row('agent (X-Cache: HIT)', runs.agent, fmtRatio(median(ratios))), row('bare node:http', runs.bare, '1.00x')],
  );
  results.push(`http: agent/bare ${fmtRatio(median(ratios))} (goal >= 0.80x)`);
}

if (!skip.has('dns')) {
  const dir = tempDir('beacon-bench-agent-dns-');
  const queryFile = join(dir, 'queries.txt');
  writeFileSync(queryFile, `${QUERIES.map(([n, t]) => `${n} ${t}`).join('\n')}\n`);
  // Pinned to the server's CPU like the agent, so neither gets the second core.
  const [tcmd, targs] = pinned('server', process.execPath, [join(HERE, 'dns', 'trivial-child.mjs')]);
  const trivial = trackChild(spawn(tcmd, targs, { stdio: ['ignore', 'pipe', 'inherit'] }));
  const trivialPort = await new Promise((resolve) => {
    let out = '';
    trivial.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const dnsperf = (port, seconds) => {
    const r = spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(seconds), '-T', '1', '-c', '1', '-q', '100'], {
      encoding: 'utf8',
    });
    return Number(/Queries per second:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  };
  // Warm-up: the agent's first answers wait for their watches; then every answer is cached.
  for (const [n, t] of QUERIES) spawnSync('dig', ['@127.0.0.1', '-p', String(agent.dnsPort), '+tries=1', '+time=3', n, t]);
  dnsperf(agent.dnsPort, 1);
  dnsperf(trivialPort, 1);
  const qps = { agent: [], trivial: [] };
  for (let r = 0; r < Number(flags.rounds); r++) {
    qps.agent.push(dnsperf(agent.dnsPort, Number(flags.seconds) * 2));
    qps.trivial.push(dnsperf(trivialPort, Number(flags.seconds) * 2));
  }
  await stopChild(trivial);
  const ratio = median(qps.agent) / median(qps.trivial);
  printTable(
    `DNS: dnsperf (1 thread, 100 outstanding, ${QUERIES.length} names) on the agent vs the trivial dns-packet responder`,
    [
      ['target', 'target'],
      ['queries/s (median)', 'qps'],
      ['rounds', 'rounds'],
    ],
    [
      { target: 'agent DNS (cached)', qps: fmtInt(median(qps.agent)), rounds: qps.agent.map(fmtInt).join(' / ') },
      { target: 'trivial dns-packet', qps: fmtInt(median(qps.trivial)), rounds: qps.trivial.map(fmtInt).join(' / ') },
    ],
  );
  results.push(`dns: agent/trivial ${fmtRatio(ratio)} (goal >= 1.00x)`);
}

if (!skip.has('fanout')) {
  const W = Number(flags.waiters);
  const path = '/v1/health/service/web';
  const first = await fetch(agent.url + path);
  const index = first.headers.get('x-consul-index');
  await first.text();
  const watchesBefore = await metric(server.url, 'beacon_server_agent_watches');
  const rssBefore = rssOf(agent.proc.pid);
  // One process holds at most its open-file limit of sockets: the waiters are spread over
  // workers of at most 9,000 each.
  const per = 9000;
  const workers = [];
  for (let left = W; left > 0; left -= per) {
    const n = Math.min(per, left);
    const [cmd, args] = withFiles([join(HERE, 'lib', 'agent-fanout-worker.mjs'), new URL(agent.url).port, `${path}?index=${index}&wait=120s`, String(n)]);
    const proc = trackChild(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] }));
    const w = { proc, out: '' };
    proc.stdout.on('data', (d) => (w.out += d));
    workers.push(w);
  }
  const waitFor = async (w, re, ms) => {
    for (let i = 0; i < ms / 50 && !re.test(w.out); i++) await sleep(50);
    const m = re.exec(w.out);
    if (!m) throw new Error(`fan-out worker: no ${re} in ${w.out.slice(0, 500)}`);
    return m;
  };
  for (const w of workers) await waitFor(w, /PARKED (\d+)/, 180_000);
  await sleep(2000);
  const rssParked = rssOf(agent.proc.pid);
  const watchesParked = await metric(server.url, 'beacon_server_agent_watches');
  const go = performance.timeOrigin + performance.now();
  for (const w of workers) w.proc.stdin.write(`GO ${go}\n`);
  await putJson(setup, '/v1/catalog/register', { Node: 'node-0', Address: '10.1.0.1', Service: { ID: 'web-new', Service: 'web', Port: 9090 } });
  const lat = [];
  for (const w of workers) lat.push(...JSON.parse((await waitFor(w, /(\{.*\})\n/, 60_000))[1]).latencies);
  for (const w of workers) await stopChild(w.proc);
  lat.sort((x, y) => x - y);
  const res = { answered: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] };
  const perWaiter = (rssParked - rssBefore) / W;
  printTable(
    `watch fan-out: ${fmtInt(W)} blocking queries on ${path} parked on one agent, one change on the server`,
    [
      ['what', 'what'],
      ['value', 'value'],
    ],
    [
      { what: 'upstream watches the agent holds on the server (before / with the waiters)', value: `${watchesBefore} / ${watchesParked}` },
      { what: 'answered after the change', value: `${fmtInt(res.answered)} of ${fmtInt(W)}` },
      { what: 'change -> answer p50 / p99 / last', value: `${fmtMs(res.p50)} / ${fmtMs(res.p99)} / ${fmtMs(res.max)}` },
      { what: 'agent memory per waiting query (RSS growth / W)', value: `${(perWaiter / 1024).toFixed(1)} KB` },
    ],
  );
  results.push(
    `fan-out: ${fmtInt(W)} waiters, upstream watches +${watchesParked - watchesBefore}, p99 ${fmtMs(res.p99)} (goal < 1 s), ${(perWaiter / 1024).toFixed(1)} KB per waiter (goal <= 12 KB)`,
  );
}
await agent.stop();

if (!skip.has('server')) {
  const A = Number(flags.agents);
  const S = Number(flags.services);
  for (let s = 0; s < S; s++)
    await putJson(setup, '/v1/catalog/register', { Node: 'svc-host', Address: '10.2.0.1', Service: { ID: `svc-${s}`, Service: `svc-${s}`, Port: 1000 + s } });
  await sleep(500);
  const rssBefore = rssOf(server.pid);
  const conns = [];
  /** per change: the agent indexes that got it, and when */
  let pending = null;
  let initial = 0;
  for (let a = 0; a < A; a++) {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/beacon/agent/stream`, { perMessageDeflate: false });
    const c = { ws, seen: new Map() };
    ws.on('message', (d) => {
      const text = d.toString();
      const m = /^\{"op":"data","id":(\d+),"index":(\d+)/.exec(text);
      if (!m) return;
      const id = Number(m[1]);
      if (!c.seen.has(id)) initial++;
      c.seen.set(id, Number(m[2]));
      if (pending && id === pending.id && !pending.got.has(a)) pending.got.set(a, performance.now());
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ op: 'hello', v: 1, node: { Node: `sim-${a}`, Address: '127.0.0.1' }, ttl: 30 }));
    for (let s = 0; s < S; s++) ws.send(JSON.stringify({ op: 'watch', id: s + 1, path: `/v1/health/service/svc-${s}`, index: 0 }));
    conns.push(c);
  }
  for (let i = 0; i < 1200 && initial < A * S; i++) await sleep(100);
  await sleep(1000);
  const rssAfter = rssOf(server.pid);
  const shapes = await metric(server.url, 'beacon_server_agent_watch_shapes');
  const lastLat = [];
  const allLat = [];
  for (let k = 0; k < Number(flags.changes); k++) {
    const s = (k * 7) % S;
    pending = { id: s + 1, got: new Map() };
    const t0 = performance.now();
    await putJson(setup, '/v1/catalog/register', { Node: 'svc-host', Address: '10.2.0.1', Service: { ID: `svc-${s}`, Service: `svc-${s}`, Port: 2000 + k } });
    for (let i = 0; i < 600 && pending.got.size < A; i++) await sleep(10);
    const lat = [...pending.got.values()].map((t) => t - t0).sort((x, y) => x - y);
    if (lat.length < A) console.log(`change ${k}: only ${lat.length} of ${A} agents saw it within 6 s`);
    lastLat.push(lat[lat.length - 1]);
    allLat.push(...lat);
  }
  allLat.sort((x, y) => x - y);
  lastLat.sort((x, y) => x - y);
  for (const c of conns) c.ws.terminate();
  const perWatch = (rssAfter - rssBefore) / (A * S);
  printTable(
    `server side: ${fmtInt(A)} simulated agents x ${S} watches = ${fmtInt(A * S)} watches over ${fmtInt(A)} connections`,
    [
      ['what', 'what'],
      ['value', 'value'],
    ],
    [
      { what: 'initial answers received', value: `${fmtInt(initial)} of ${fmtInt(A * S)}` },
      { what: 'distinct read shapes evaluated by the server', value: fmtInt(shapes) },
      { what: 'server memory per watch (RSS growth / watches)', value: `${(perWatch / 1024).toFixed(2)} KB (${fmtInt(rssAfter - rssBefore)} bytes in all)` },
      {
        what: `change -> agent, all agents over ${flags.changes} changes: p50 / p99`,
        value: `${fmtMs(percentile(allLat, 50))} / ${fmtMs(percentile(allLat, 99))}`,
      },
      { what: 'change -> last agent: median / worst over changes', value: `${fmtMs(median(lastLat))} / ${fmtMs(lastLat[lastLat.length - 1])}` },
    ],
  );
  results.push(
    `server: ${(perWatch / 1024).toFixed(2)} KB per watch; change -> agents p99 ${fmtMs(percentile(allLat, 99))}, last agent worst ${fmtMs(lastLat[lastLat.length - 1])} (goal p99 < 1 s)`,
  );
}
await setup.close();
await server.stop();
console.log('\nsummary');
for (const r of results) console.log(`  ${r}`);
process.exit(0);
