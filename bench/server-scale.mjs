// Beacon at scale: 100,000 instances over 10,000 services (10 instances each, on 1,000 nodes),
// loaded through the real server (PUT /v1/catalog/register, many concurrent clients, each
// registration acknowledged once durable). Then: resident memory of the server once settled
// (forced full GC through the inspector), SIGTERM, restarts on the same data dir timed until
// the ready line, and a check that the restarted catalog still holds every instance.
// Goals (issue 2): resident memory under 250 MB; start-up reloading them under 5 s.
//
// (--bin PATH runs another checkout's bin/beacon, to compare two builds.)
// Usage: npm run build && node bench/server-scale.mjs [--instances 100000] [--services 10000] [--checks] [--restarts 3] [--keep-data]
//   --keep-data: keep the loaded data dir (its path is printed) for further runs or profiling.
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { tempDir } from './lib/cleanup.mjs';
import { getJson, parallel, pool } from './lib/http.mjs';
import { connectInspector } from './lib/inspector.mjs';
import { undiciLoad } from './lib/load.mjs';
import { busyLine, machineLine } from './lib/machine.mjs';
import { rssBytes, statusBytes } from './lib/proc.mjs';
import { fmtInt, fmtMB, fmtMs, fmtS, median, printTable } from './lib/stats.mjs';

requireBuild('bench/server-scale.mjs');
const { values: flags } = parseArgs({
  options: {
    bin: { type: 'string' },
    instances: { type: 'string', default: '100000' },
    services: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '128' },
    restarts: { type: 'string', default: '3' },
    checks: { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
  },
});
const INSTANCES = Number(flags.instances);
const SERVICES = Number(flags.services);
const PER_NODE = 100;
const NODES = Math.ceil(INSTANCES / PER_NODE);
const MEMORY_GOAL = 250 * 2 ** 20;
const STARTUP_GOAL_MS = 5000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Instance n: service svc-(n % S), its (n / S)-th instance, on node (n / 100); so each node runs
// 100 instances of different services and each service's instances sit on different nodes.
const S = SERVICES;
const id = `svc-{n%${S}}-{n/${S}}`;
const addr = '10.{n/25600}.{n/100%256}.1';
const check = flags.checks
  ? `,"Check":{"CheckID":"service:${id}","Name":"service health","Status":"passing","ServiceID":"${id}","Output":"HTTP GET http://${addr}:8080/health: 200 OK"}`
  : '';
const body =
  `{"Node":"node-{n/${PER_NODE}}","Address":"${addr}","NodeMeta":{"rack":"r{n/100%8}"},` +
  `"Service":{"ID":"${id}","Service":"svc-{n%${S}}","Address":"${addr}","Port":8080,"Tags":["primary","v2"],"Meta":{"version":"2.4.1"}}${check}}`;

console.log(
  `server-scale: ${fmtInt(INSTANCES)} instances over ${fmtInt(SERVICES)} services on ${fmtInt(NODES)} nodes` +
    `${flags.checks ? ', one passing service check each' : ', no checks (they count as passing)'}; loaded with PUT /v1/catalog/register`,
);
console.log(`machine: ${machineLine()}`);

async function metric(url, name) {
  const p = pool(url, 1);
  const res = await p.request({ method: 'GET', path: '/metrics' });
  const text = await res.body.text();
  await p.close();
  const m = text.match(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

/** Checks the catalog holds everything: service count, instance gauge, and a sample of services. */
async function verify(url) {
  const p = pool(url, 8);
  const services = await getJson(p, '/v1/catalog/services');
  const names = Object.keys(services.body).filter((n) => n !== 'consul');
  const instances = (await metric(url, 'beacon_catalog_objects{kind="instances"}')) - 1; // less the consul service
  const sample = Array.from({ length: 100 }, (_, i) => `svc-${Math.floor((i * SERVICES) / 100 + Math.random() * (SERVICES / 100))}`);
  const expectedPer = Math.floor(INSTANCES / SERVICES);
  let sampleOk = 0;
  await parallel(sample.length, 8, async (i) => {
    const r = await getJson(p, `/v1/catalog/service/${sample[i]}`);
    if (r.status === 200 && r.body.length >= expectedPer) sampleOk++;
  });
  await p.close();
  const ok = names.length === SERVICES && instances === INSTANCES && sampleOk === sample.length;
  return { ok, services: names.length, instances, sample: `${sampleOk}/${sample.length}` };
}

function dirBytes(dir) {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}

// 1. Load through the real server.
const dataDir = flags['keep-data'] ? mkdtempSync(join(tmpdir(), 'beacon-bench-scale-kept-')) : tempDir('beacon-bench-scale-');
const first = await startBeacon({ bin: flags.bin, dataDir, nodeArgs: ['--inspect=127.0.0.1:0'] });
const baseRss = rssBytes(first.pid);
const load = await undiciLoad({
  origin: first.url,
  serverPid: first.pid,
  method: 'PUT',
  path: '/v1/catalog/register',
  headers: { 'content-type': 'application/json' },
  connections: Number(flags.clients),
  count: INSTANCES,
  body,
});
if (load.errors > 0 || load.non2xx > 0) throw new Error(`loading failed: ${load.errors} errors, ${load.non2xx} non-2xx (${load.firstError})`);
const loaded = await verify(first.url);
if (!loaded.ok) throw new Error(`after loading, the catalog is incomplete: ${JSON.stringify(loaded)}`);
console.log(
  `loaded ${fmtInt(INSTANCES)} instances in ${fmtS(load.seconds * 1000)} (${fmtInt(load.rps)} durable registrations/s, p50 ${fmtMs(load.p50)}, p99 ${fmtMs(load.p99)})`,
);

// 2. Resident memory, idle, then after forced full collections.
await sleep(2000);
const rssIdle = rssBytes(first.pid);
const inspector = await connectInspector(first.output);
await inspector.gc();
await inspector.gc();
await sleep(1000);
const rssGc = rssBytes(first.pid);
const heap = await inspector.heapUsage();
const hwm = statusBytes(first.pid, 'VmHWM');
inspector.close();

// 3. SIGTERM, then restarts on the same data dir, timed from spawn to the ready line.
const stopped = await first.stop();
if (stopped.code !== 0) throw new Error(`beacon exited with ${stopped.code ?? stopped.signal} on SIGTERM:\n${first.output()}`);
const disk = dirBytes(dataDir);
const restarts = [];
for (let i = 0; i < Number(flags.restarts); i++) {
  const b = await startBeacon({ bin: flags.bin, dataDir });
  const readyMs = b.readyMs;
  const v = await verify(b.url);
  await sleep(1000);
  restarts.push({ readyMs, verified: v, rss: rssBytes(b.pid), hwm: statusBytes(b.pid, 'VmHWM') });
  const s = await b.stop();
  if (s.code !== 0) throw new Error(`beacon exited with ${s.code ?? s.signal} on SIGTERM after restart ${i + 1}`);
  if (!v.ok) throw new Error(`after restart ${i + 1} the catalog is incomplete: ${JSON.stringify(v)}`);
}

const readyMedian = median(restarts.map((r) => r.readyMs));
const readyMax = Math.max(...restarts.map((r) => r.readyMs));
const rows = [
  {
    what: 'load: durable registrations/s (PUT /v1/catalog/register)',
    value: fmtInt(load.rps),
    goal: '',
    note: `${flags.clients} clients, ${fmtS(load.seconds * 1000)} total`,
  },
  { what: 'RSS of the empty server', value: fmtMB(baseRss), goal: '', note: '' },
  { what: 'RSS loaded, idle 2 s', value: fmtMB(rssIdle), goal: '', note: '' },
  { what: 'RSS loaded, after forced full GC', value: fmtMB(rssGc), goal: '< 250 MB', note: rssGc < MEMORY_GOAL ? 'MET' : 'MISSED' },
  { what: 'V8 heap used after GC', value: fmtMB(heap.usedSize), goal: '', note: `heap total ${fmtMB(heap.totalSize)}` },
  { what: 'peak RSS while loading (VmHWM)', value: fmtMB(hwm), goal: '', note: '' },
  { what: 'shutdown on SIGTERM', value: fmtMs(stopped.ms), goal: '', note: 'flush + WAL checkpoint' },
  { what: 'data dir on disk', value: fmtMB(disk), goal: '', note: '' },
  { what: 'restart: spawn to ready line (median)', value: fmtS(readyMedian), goal: '< 5 s', note: readyMax < STARTUP_GOAL_MS ? 'MET' : 'MISSED' },
  { what: 'restart: spawn to ready line (each)', value: restarts.map((r) => fmtS(r.readyMs)).join(' / '), goal: '', note: '' },
  {
    what: 'RSS after restart (+ verify, idle 1 s)',
    value: fmtMB(median(restarts.map((r) => r.rss))),
    goal: '',
    note: `peak ${fmtMB(median(restarts.map((r) => r.hwm)))} (VmHWM)`,
  },
  {
    what: 'catalog after each restart',
    value: `${fmtInt(restarts[0].verified.services)} svc, ${fmtInt(restarts[0].verified.instances)} inst`,
    goal: '',
    note: `sample of /v1/catalog/service ${restarts[0].verified.sample} complete`,
  },
];
printTable(
  'Scale (100k instances; loaded server started with --inspect to force GC; restarts without)',
  [
    ['measure', 'what'],
    ['value', 'value'],
    ['goal', 'goal'],
    ['', 'note'],
  ],
  rows,
);
console.log(
  `\nmemory: ${fmtMB(rssGc)} RSS after GC (goal < 250 MB): ${rssGc < MEMORY_GOAL ? 'MET' : 'MISSED'}; ` +
    `start-up: ${fmtS(readyMax)} worst of ${restarts.length} restarts (goal < 5 s): ${readyMax < STARTUP_GOAL_MS ? 'MET' : 'MISSED'}`,
);
if (flags['keep-data']) console.log(`data dir kept: ${dataDir}`);
console.log(busyLine());
