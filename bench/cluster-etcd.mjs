// Cluster mode on etcd: three Beacon servers over a three-member etcd cluster on loopback,
// against the same etcd cluster used directly as a registry the way its client examples do it
// (put with a lease, range by prefix, watch a prefix; gRPC through @grpc/grpc-js), in one run:
//
// 1. Registrations per second, `--clients` concurrent clients spread over the servers (members):
//    Beacon `PUT /v1/agent/service/register` of a new service; etcd a put of the instance's key
//    with a lease of its own (LeaseGrant + Put, as the endpoint-manager examples do) or with one
//    lease shared by the clients of a member (Put only).
// 2. Discovery latency of one service among `--services`, one request at a time: Beacon
//    `GET /v1/health/service/web?passing` (the same URL again, answered from the response cache,
//    and a new URL every time), etcd a range over the prefix `/services/web/` (linearizable, the
//    clients' default, and serializable). Goal: Beacon at least 5x faster than etcd's range.
// 3. Propagation of one change to `--watchers` watchers: Beacon blocking queries
//    `GET /v1/health/service/web?passing&index=N` spread over the servers, one connection each;
//    etcd watches on the prefix spread over the members (one Watch stream per member, as an etcd
//    client puts all its watches on one stream; `--etcd-streams W` gives each watcher a
//    connection of its own, as each Beacon watcher has). Times from the moment the write is sent
//    until each watcher saw the change (a watcher woken by another change asks again). Goal:
//    Beacon's p99 below etcd's (the median over rounds of the per-round ratio).
// 4. Read throughput of three servers against one: the same load (`--connections` connections
//    in three wrk processes, or the undici generator without wrk) on one server, then spread
//    over the three.
//
// Nothing is pinned to a CPU: seven servers (three etcd members, three Beacon servers) and the
// load generator share the machine's cores, so on a small machine the client competes with the
// servers; every row prints how many cores the servers and the client used.
//
// Every phase is bounded in time (waits give up after 30 s, loading the data set after 180 s);
// the default run takes about 2 minutes on 2 cores. Children and temp dirs are removed at the
// end, on an error and on Ctrl-C.
//
// Usage: npm run build && node bench/cluster-etcd.mjs [--services 10000] [--watchers 1000]
//          [--seconds 5] [--clients 64] [--connections 96] [--rounds 3] [--instances 10] [--etcd-streams 3]
//   --seconds: length of each measured throughput run (after a 1 s warm-up); latency rounds
//   last a fifth of it, per target. --instances: instances of the service that is read.
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { startEtcdCluster } from './lib/etcd-cluster.mjs';
import { decodeWatchResponse, etcdClient, rangeCount } from './lib/etcd-grpc.mjs';
import { HttpWatcher } from './lib/http-watcher.mjs';
import { getLoad } from './lib/load.mjs';
import { busyLine, disablePinning, machineLine } from './lib/machine.mjs';
import { cpuTimeMs } from './lib/proc.mjs';
import { fmtInt, fmtMs, fmtRatio, median, printTable, summarize } from './lib/stats.mjs';

requireBuild('bench/cluster-etcd.mjs');
disablePinning();
const { values: flags } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    watchers: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '64' },
    connections: { type: 'string', default: '96' },
    rounds: { type: 'string', default: '3' },
    instances: { type: 'string', default: '10' },
    'etcd-streams': { type: 'string', default: '3' },
  },
});
const SERVICES = Number(flags.services);
const WATCHERS = Number(flags.watchers);
const SECONDS = Number(flags.seconds);
const CLIENTS = Number(flags.clients);
const CONNECTIONS = Number(flags.connections);
const ROUNDS = Number(flags.rounds);
const INSTANCES = Number(flags.instances);
const ETCD_STREAMS = Number(flags['etcd-streams']);
for (const [k, v] of Object.entries({
  services: SERVICES,
  watchers: WATCHERS,
  seconds: SECONDS,
  clients: CLIENTS,
  connections: CONNECTIONS,
  rounds: ROUNDS,
  instances: INSTANCES,
  'etcd-streams': ETCD_STREAMS,
})) {
  if (!Number.isFinite(v) || v < 1) throw new Error(`--${k} must be a positive number (got ${flags[k]})`);
}
const WARMUP_S = 1;
const SERVERS = 3;
const LEASE_TTL_S = 600; // outlives the run: no keep-alives are sent
const SERVICE = 'web';
const ETCD_PREFIX = '/services/';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

console.log(
  `cluster-etcd: ${SERVERS} Beacon servers on a ${SERVERS}-member etcd cluster vs the same etcd as a registry; ` +
    `${fmtInt(SERVICES)} services, ${fmtInt(WATCHERS)} watchers, ${SECONDS} s runs, ${CLIENTS} writers, ${CONNECTIONS} read connections`,
);
console.log(`machine: ${machineLine()}`);

// ---- cluster ------------------------------------------------------------------------------------

const etcd = await startEtcdCluster({ members: SERVERS });
if (!etcd) {
  console.log('etcd is not available (install etcd-server: `bash scripts/ensure-tools.sh --bench`): nothing to compare, skipped');
  process.exit(0);
}
const beacons = await Promise.all(
  Array.from({ length: SERVERS }, (_, i) => startBeacon({ pin: false, args: ['--store', etcd.url, '--node', `beacon-${i}`, '--log-level', 'warn'] })),
);
const pools = beacons.map((b) => new Pool(b.url, { connections: Math.max(4, Math.ceil(Math.max(CLIENTS, 8) / SERVERS)), pipelining: 1 }));
const members = etcd.endpoints.map((e) => etcdClient(e));
console.log(`etcd ${etcd.version}: ${etcd.endpoints.join(', ')}; Beacon: ${beacons.map((b) => `${b.host}:${b.port}`).join(', ')}`);

/** CPU time (ms) used so far by the Beacon servers, the etcd members and this process. */
function cpuNow() {
  const sum = (pids) => pids.reduce((s, pid) => s + cpuTimeMs(pid), 0);
  const u = process.cpuUsage();
  return { beacon: sum(beacons.map((b) => b.pid)), etcd: sum(etcd.pids), client: (u.user + u.system) / 1000, at: performance.now() };
}
/** CPU time (ms) spent between two cpuNow() samples, by role. */
function cpuSpent(a, b) {
  return { beacon: b.beacon - a.beacon, etcd: b.etcd - a.etcd, client: b.client - a.client };
}
const fmtCores = (c) => `Beacon ${c.beacon.toFixed(2)}, etcd ${c.etcd.toFixed(2)}, client ${c.client.toFixed(2)}`;

async function request(pool, method, path, body) {
  const res = await pool.request({ method, path, body, headers: body ? { 'content-type': 'application/json' } : {} });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
  return { text, headers: res.headers };
}

/** An instance as registered with Beacon, and the same instance as an etcd registry stores it. */
const instance = (name, id, i, meta = {}) => ({
  ID: id,
  Name: name,
  Address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  Port: 8080,
  Tags: ['v2', 'primary'],
  Meta: { version: '2.4.1', ...meta },
});

// ---- 1. registrations ---------------------------------------------------------------------------

/**
 * One run of `CLIENTS` loops, loop i on target i % SERVERS, each awaiting its registration
 * before the next: `warmupS` not measured, then `measureS` measured (or until target.next
 * reaches target.cap). `target.register(loop, n)` registers number n; target.next carries on
 * from run to run, so every registration is new.
 */
async function registrationRun(target, warmupS, measureS) {
  let measured = 0;
  const latencies = [];
  const start = performance.now();
  const from = start + warmupS * 1000;
  const to = from + measureS * 1000;
  let cpuFrom;
  let lastEnd = from;
  const warm = sleep(warmupS * 1000).then(() => (cpuFrom = cpuNow()));
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, loop) => {
      while (performance.now() < to && target.next < target.cap) {
        const n = target.next++;
        const t = performance.now();
        try {
          await target.register(loop, n);
        } catch (err) {
          target.errors++;
          target.firstError ??= err.message;
          continue;
        }
        const end = performance.now();
        if (t >= from && end <= to) {
          measured++;
          latencies.push(end - t);
          lastEnd = Math.max(lastEnd, end);
        }
      }
    }),
  );
  await warm;
  const cpu = cpuSpent(cpuFrom, cpuNow());
  const seconds = (target.next >= target.cap ? lastEnd - from : to - from) / 1000;
  target.runs.push({ count: measured, seconds, cpu });
  target.latencies.push(...latencies);
  return measured / seconds;
}

const regRounds = 2;
console.log(
  `\n1. registrations: ${CLIENTS} concurrent clients; per target ${WARMUP_S} s warm-up, then ${regRounds} runs of ${SECONDS / regRounds} s, alternating`,
);
const regTarget = (name, register, cap = Infinity) => ({ name, register, cap, next: 0, errors: 0, firstError: undefined, runs: [], latencies: [] });
const sharedLeases = await Promise.all(members.map((m) => m.grant(LEASE_TTL_S)));
// Beacon's registrations are the first services of the discovery data set; etcd's are written
// outside its prefix (the data set is loaded afterwards), so every run goes as fast as it can.
const regTargets = [
  regTarget(
    'beacon',
    (loop, n) => request(pools[loop % SERVERS], 'PUT', '/v1/agent/service/register', JSON.stringify(instance(`svc-${n}`, `svc-${n}-0`, n))),
    SERVICES - 1,
  ),
  regTarget('etcd, lease per instance', async (loop, n) => {
    const m = members[loop % SERVERS];
    const lease = await m.grant(LEASE_TTL_S);
    await m.put(`/registrations/a/svc-${n}/svc-${n}-0`, JSON.stringify(instance(`svc-${n}`, `svc-${n}-0`, n)), lease);
  }),
  regTarget('etcd, shared lease', (loop, n) =>
    members[loop % SERVERS].put(`/registrations/b/svc-${n}/svc-${n}-0`, JSON.stringify(instance(`svc-${n}`, `svc-${n}-0`, n)), sharedLeases[loop % SERVERS]),
  ),
];
for (let r = 0; r < regRounds; r++) {
  for (const t of r % 2 ? [...regTargets].reverse() : regTargets) {
    const rate = await registrationRun(t, r === 0 ? WARMUP_S : 0, SECONDS / regRounds);
    console.log(`   run ${r + 1} ${t.name}: ${fmtInt(rate)}/s`);
  }
}
const regResults = regTargets.map((t) => {
  const count = t.runs.reduce((a, x) => a + x.count, 0);
  const seconds = t.runs.reduce((a, x) => a + x.seconds, 0);
  const ms = t.runs.reduce((a, x) => ({ beacon: a.beacon + x.cpu.beacon, etcd: a.etcd + x.cpu.etcd, client: a.client + x.cpu.client }), {
    beacon: 0,
    etcd: 0,
    client: 0,
  });
  const cores = { beacon: ms.beacon / 1000 / seconds, etcd: ms.etcd / 1000 / seconds, client: ms.client / 1000 / seconds };
  if (t.errors) console.log(`   ${t.name}: ${t.errors} errors, first: ${t.firstError}`);
  return { name: t.name, rate: count / seconds, runs: t.runs.map((x) => x.count / x.seconds), errors: t.errors, cores, ...summarize(t.latencies) };
});
const [regBeacon, regLeaseEach, regLeaseShared] = regResults;
const beaconServices = regTargets[0].next; // services registered with Beacon so far: svc-0 .. svc-(n-1)

// ---- data set -----------------------------------------------------------------------------------

const LOAD_LIMIT_S = 180;
/**
 * Runs job(loop, i) for i in [from, to) with `CLIENTS` in flight; rejects on the first failure,
 * and when it takes longer than LOAD_LIMIT_S.
 */
async function load(what, from, to, job) {
  let next = from;
  const deadline = performance.now() + LOAD_LIMIT_S * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, loop) => {
      while (next < to) {
        if (performance.now() > deadline) throw new Error(`loading ${what}: only ${next - from} of ${to - from} done after ${LOAD_LIMIT_S} s`);
        await job(loop, next++);
      }
    }),
  );
}
const loadStart = performance.now();
await Promise.all([
  load('Beacon', beaconServices, SERVICES - 1, (loop, n) =>
    request(pools[loop % SERVERS], 'PUT', '/v1/agent/service/register', JSON.stringify(instance(`svc-${n}`, `svc-${n}-0`, n))),
  ),
  load('etcd', 0, SERVICES - 1, (loop, n) =>
    members[loop % SERVERS].put(`${ETCD_PREFIX}svc-${n}/svc-${n}-0`, JSON.stringify(instance(`svc-${n}`, `svc-${n}-0`, n)), sharedLeases[loop % SERVERS]),
  ),
]);
for (let i = 0; i < INSTANCES; i++) {
  const inst = instance(SERVICE, `${SERVICE}-${i}`, i);
  await request(pools[i % SERVERS], 'PUT', '/v1/agent/service/register', JSON.stringify(inst));
  await members[i % SERVERS].put(`${ETCD_PREFIX}${SERVICE}/${SERVICE}-${i}`, JSON.stringify(inst), sharedLeases[i % SERVERS]);
}
// Every server must see the whole catalog before reads are timed.
for (const p of pools) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { text } = await request(p, 'GET', '/v1/catalog/services?stale');
    const count = Object.keys(JSON.parse(text)).filter((name) => name === SERVICE || name.startsWith('svc-')).length;
    if (count >= SERVICES) break;
    if (Date.now() > deadline) throw new Error(`a server lists ${count} of ${SERVICES} services after 30 s`);
    await sleep(100);
  }
}
console.log(`   data set: ${fmtInt(SERVICES)} services in each registry (+ Beacon's own), loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
await sleep(1000); // let the servers finish what the loading left them (garbage, watch events)

// ---- 2. discovery latency -----------------------------------------------------------------------

const readPath = `/v1/health/service/${SERVICE}?passing`;
for (let i = 0; i < SERVERS; i++) {
  const { text } = await request(pools[i], 'GET', readPath);
  const got = JSON.parse(text).length;
  if (got !== INSTANCES) throw new Error(`Beacon server ${i} answered ${got} instances of ${SERVICE}, expected ${INSTANCES}`);
  const kvs = rangeCount(await members[i].rangePrefix(`${ETCD_PREFIX}${SERVICE}/`));
  if (kvs !== INSTANCES) throw new Error(`etcd member ${i}'s range has ${kvs} keys, expected ${INSTANCES}`);
}
let uncached = 0;
const readTargets = {
  'beacon, same URL': async (i) => {
    const res = await pools[i % SERVERS].request({ method: 'GET', path: readPath });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  },
  'beacon, new URL each time': async (i) => {
    const res = await pools[i % SERVERS].request({ method: 'GET', path: `${readPath}&bench=${uncached++}` });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  },
  'etcd range (linearizable)': (i) => members[i % SERVERS].rangePrefix(`${ETCD_PREFIX}${SERVICE}/`),
  'etcd range (serializable)': (i) => members[i % SERVERS].rangePrefix(`${ETCD_PREFIX}${SERVICE}/`, { serializable: true }),
};
const readMs = Math.max(200, (SECONDS * 1000) / 5);
console.log(`\n2. discovery latency: one request at a time, round-robin over the servers; ${ROUNDS} rounds of ${readMs / 1000} s per target`);
const reads = new Map(Object.keys(readTargets).map((k) => [k, { latencies: [], p50s: [], p99s: [], clientMs: 0 }]));
for (let r = -1; r < ROUNDS; r++) {
  const names = Object.keys(readTargets);
  if (r % 2) names.reverse();
  for (const name of names) {
    const fn = readTargets[name];
    const lat = [];
    const cpu = process.cpuUsage();
    const end = performance.now() + (r < 0 ? 300 : readMs);
    for (let i = 0; performance.now() < end; i++) {
      const t = performance.now();
      await fn(i);
      lat.push(performance.now() - t);
    }
    const used = process.cpuUsage(cpu);
    if (r < 0) continue; // warm-up
    const acc = reads.get(name);
    acc.clientMs += (used.user + used.system) / 1000;
    acc.latencies.push(...lat);
    const s = summarize(lat);
    acc.p50s.push(s.p50);
    acc.p99s.push(s.p99);
  }
}
for (const [name, acc] of reads) console.log(`   ${name}: p50 ${fmtMs(summarize(acc.latencies).p50)}, p99 ${fmtMs(summarize(acc.latencies).p99)}`);

// ---- 3. propagation -----------------------------------------------------------------------------

const PROP_WARMUP = 2; // the code of a fan-out runs once per write: the first writes find it cold
console.log(`\n3. propagation: one change to ${fmtInt(WATCHERS)} watchers; ${PROP_WARMUP} warm-up + ${ROUNDS} rounds per target, alternating`);
const beaconWatchers = [];
for (let i = 0; i < WATCHERS; i++) {
  const b = beacons[i % SERVERS];
  beaconWatchers.push(new HttpWatcher(b.host, b.port));
}
await Promise.all(beaconWatchers.map((w) => w.ready));

async function waitingOn(pool) {
  const res = await pool.request({ method: 'GET', path: '/metrics' });
  const m = /^beacon_http_blocking_queries_waiting (\d+)/m.exec(await res.body.text());
  return m ? Number(m[1]) : 0;
}

async function beaconRound(round) {
  const marker = `"round":"r${round}"`;
  const indexes = await Promise.all(pools.map(async (p) => Number((await request(p, 'GET', readPath)).headers['x-consul-index'])));
  let wakeups = 0;
  let t0;
  const seen = beaconWatchers.map(async (w, i) => {
    let index = indexes[i % SERVERS];
    for (;;) {
      const a = await w.get(`${readPath}&index=${index}&wait=60s`);
      if (a.status !== 200) throw new Error(`a blocking query answered HTTP ${a.status}`);
      if (t0 !== undefined && a.body.includes(marker)) return a.at - t0;
      // Woken by another change (or before the write): ask again from the new index.
      if (a.index < index) throw new Error(`a blocking query's index went back from ${index} to ${a.index}`);
      index = a.index;
      wakeups++;
    }
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const parked = (await Promise.all(pools.map(waitingOn))).reduce((a, b) => a + b, 0);
    if (parked >= WATCHERS) break;
    if (Date.now() > deadline) throw new Error(`only ${parked} of ${WATCHERS} blocking queries parked after 30 s`);
    await sleep(20);
  }
  await sleep(200);
  const inst = instance(SERVICE, `${SERVICE}-0`, 0, { round: `r${round}` });
  const cpu0 = cpuNow();
  t0 = performance.now();
  await request(pools[round % SERVERS], 'PUT', '/v1/agent/service/register', JSON.stringify(inst));
  const ackMs = performance.now() - t0;
  const latencies = await Promise.race([
    Promise.all(seen),
    sleep(30_000).then(() => {
      throw new Error(`Beacon watchers not all notified 30 s after the write`);
    }),
  ]);
  const cpuMs = cpuSpent(cpu0, cpuNow());
  // Watchers on the server that took the write, and on the others (which learn of it from etcd).
  const local = latencies.filter((_, i) => i % SERVERS === round % SERVERS);
  const remote = latencies.filter((_, i) => i % SERVERS !== round % SERVERS);
  return { ackMs, latencies, wakeups, local, remote, cpuMs };
}

const etcdWatch = { created: 0, onResponse: undefined };
// One Watch stream per member on the members' own connections (as one etcd client per member
// would have), or --etcd-streams connections of their own spread over the members.
const watchClients = ETCD_STREAMS === SERVERS ? members : Array.from({ length: ETCD_STREAMS }, (_, j) => etcdClient(etcd.endpoints[j % SERVERS]));
const streams = watchClients.map((m, s) =>
  m.watchStream((raw, at) => {
    const r = decodeWatchResponse(raw);
    if (r.created) etcdWatch.created++;
    if (r.events > 0) etcdWatch.onResponse?.(s, r.watchId, raw, at);
  }),
);
for (let i = 0; i < WATCHERS; i++) streams[i % ETCD_STREAMS].watchPrefix(`${ETCD_PREFIX}${SERVICE}/`);
{
  const deadline = Date.now() + 30_000;
  while (etcdWatch.created < WATCHERS) {
    if (Date.now() > deadline) throw new Error(`only ${etcdWatch.created} of ${WATCHERS} etcd watchers created after 30 s`);
    await sleep(20);
  }
}

async function etcdRound(round) {
  const marker = Buffer.from(`"round":"r${round}"`);
  const seen = new Map();
  let t0;
  let done;
  const all = new Promise((r) => (done = r));
  etcdWatch.onResponse = (s, id, raw, at) => {
    const k = `${s}:${id}`;
    if (seen.has(k) || !raw.includes(marker)) return;
    seen.set(k, at - t0);
    if (seen.size === WATCHERS) done();
  };
  await sleep(200);
  const inst = instance(SERVICE, `${SERVICE}-0`, 0, { round: `r${round}` });
  const cpu0 = cpuNow();
  t0 = performance.now();
  await members[round % SERVERS].put(`${ETCD_PREFIX}${SERVICE}/${SERVICE}-0`, JSON.stringify(inst), sharedLeases[round % SERVERS]);
  const ackMs = performance.now() - t0;
  await Promise.race([
    all,
    sleep(30_000).then(() => {
      throw new Error(`only ${seen.size} of ${WATCHERS} etcd watchers notified 30 s after the put`);
    }),
  ]);
  const cpuMs = cpuSpent(cpu0, cpuNow());
  etcdWatch.onResponse = undefined;
  return { ackMs, latencies: [...seen.values()], wakeups: 0, cpuMs };
}

const newAcc = () => ({ acks: [], latencies: [], p50s: [], p99s: [], wakeups: 0, local: [], remote: [], cpu: [] });
const prop = { beacon: newAcc(), etcd: newAcc() };
let round = 0;
for (let r = -PROP_WARMUP; r < ROUNDS; r++) {
  for (const t of r % 2 ? ['etcd', 'beacon'] : ['beacon', 'etcd']) {
    const res = t === 'beacon' ? await beaconRound(round++) : await etcdRound(round++);
    const s = summarize(res.latencies);
    console.log(`   ${r < 0 ? 'warm-up' : `round ${r + 1}`} ${t}: write ack ${fmtMs(res.ackMs)}, watchers p50 ${fmtMs(s.p50)}, p99 ${fmtMs(s.p99)}`);
    if (r < 0) continue;
    const acc = prop[t];
    acc.acks.push(res.ackMs);
    acc.latencies.push(...res.latencies);
    acc.p50s.push(s.p50);
    acc.p99s.push(s.p99);
    acc.wakeups += res.wakeups;
    acc.local.push(...(res.local ?? []));
    acc.cpu.push(res.cpuMs);
    acc.remote.push(...(res.remote ?? []));
  }
}
for (const w of beaconWatchers) w.close();
for (const s of streams) s.cancel();
if (watchClients !== members) for (const c of watchClients) c.close();

// ---- 4. read throughput, three servers against one ----------------------------------------------

console.log(
  `\n4. read throughput: GET ${readPath}, ${CONNECTIONS} connections in 3 load processes, ${WARMUP_S} s warm-up + ${SECONDS} s; 1 and 3 servers alternating`,
);
const perGen = Math.ceil(CONNECTIONS / 3);
async function throughput(servers) {
  const before = cpuNow();
  const runs = await Promise.all(
    [0, 1, 2].map((g) => getLoad({ origin: beacons[g % servers].url, path: readPath, connections: perGen, seconds: SECONDS, warmupSeconds: WARMUP_S })),
  );
  const after = cpuNow();
  const wall = (after.at - before.at) / 1000;
  return {
    rps: runs.reduce((s, r) => s + r.rps, 0),
    errors: runs.reduce((s, r) => s + (r.errors ?? 0) + (r.non2xx ?? 0), 0),
    p99: Math.max(...runs.map((r) => r.p99)),
    // Over warm-up and measured run together; the generators' share is their own CPU over their run.
    beaconCores: (after.beacon - before.beacon) / 1000 / wall,
    etcdCores: (after.etcd - before.etcd) / 1000 / wall,
    clientCores: runs.reduce((s, r) => s + (r.clientCpu ?? NaN), 0),
    generator: runs[0].generator,
  };
}
const tput = { 1: [], 3: [] };
// Every server's read path warmed up under this load first (not recorded): a server met cold in
// its first run answers about half as fast.
console.log(`   warm-up on 3 servers: ${fmtInt((await throughput(3)).rps)} req/s`);
for (let r = 0; r < ROUNDS; r++) {
  for (const n of r % 2 ? [3, 1] : [1, 3]) {
    const res = await throughput(n);
    console.log(`   ${n} server${n > 1 ? 's' : ''}: ${fmtInt(res.rps)} req/s`);
    tput[n].push(res);
  }
}

// ---- report -------------------------------------------------------------------------------------

for (const p of pools) await p.close();
for (const m of members) m.close();
await Promise.all(beacons.map((b) => b.stop()));
await etcd.stop();

printTable(
  `1. Registrations (${CLIENTS} concurrent clients over ${SERVERS} servers / members; ${regRounds} runs of ${SECONDS / regRounds} s after ${WARMUP_S} s warm-up, pooled)`,
  [
    ['target', 'name'],
    ['registrations/s', 'rate'],
    ['per run', 'runs'],
    ['p50', 'p50'],
    ['p99', 'p99'],
    ['errors', 'errors'],
    ['Beacon / this', 'ratio'],
    ['cores used (servers and client)', 'cores'],
  ],
  regResults.map((r) => ({
    name: r.name,
    rate: fmtInt(r.rate),
    runs: r.runs.map(fmtInt).join(' / '),
    p50: fmtMs(r.p50),
    p99: fmtMs(r.p99),
    errors: fmtInt(r.errors),
    ratio: fmtRatio(regBeacon.rate / r.rate),
    cores: fmtCores(r.cores),
  })),
);

const lin = reads.get('etcd range (linearizable)');
printTable(
  `2. Discovery of one service (${INSTANCES} instances) among ${fmtInt(SERVICES)}, one request at a time (${ROUNDS} rounds, latencies pooled)`,
  [
    ['target', 'name'],
    ['requests', 'n'],
    ['p50', 'p50'],
    ['p99', 'p99'],
    ['p50 per round', 'p50s'],
    ['client CPU/request', 'client'],
    ['etcd linearizable p50 / this', 'r50'],
    ['p99 ratio', 'r99'],
  ],
  [...reads].map(([name, acc]) => {
    const s = summarize(acc.latencies);
    const l = summarize(lin.latencies);
    return {
      name,
      n: fmtInt(acc.latencies.length),
      p50: fmtMs(s.p50),
      p99: fmtMs(s.p99),
      p50s: acc.p50s.map(fmtMs).join(' / '),
      client: `${Math.round((acc.clientMs * 1000) / acc.latencies.length)} µs`,
      r50: fmtRatio(l.p50 / s.p50),
      r99: fmtRatio(l.p99 / s.p99),
    };
  }),
);

printTable(
  `3. One change to ${fmtInt(WATCHERS)} watchers (${ROUNDS} rounds; latencies pooled; from the moment the write is sent)`,
  [
    ['target', 'name'],
    ['write ack (median)', 'ack'],
    ['watchers p50', 'p50'],
    ['p99', 'p99'],
    ['max', 'max'],
    ['p99 per round', 'p99s'],
    ['CPU ms from write to last watcher: Beacon / etcd / client', 'cpu'],
  ],
  ['beacon', 'etcd'].map((t) => {
    const acc = prop[t];
    const s = summarize(acc.latencies);
    return {
      name:
        t === 'beacon'
          ? `Beacon (blocking queries over ${SERVERS} servers)`
          : `etcd (watches over ${SERVERS} members, ${ETCD_STREAMS === SERVERS ? '1 stream each' : `${ETCD_STREAMS} connections`})`,
      ack: fmtMs(median(acc.acks)),
      p50: fmtMs(s.p50),
      p99: fmtMs(s.p99),
      max: fmtMs(s.max),
      p99s: acc.p99s.map(fmtMs).join(' / '),
      cpu: ['beacon', 'etcd', 'client'].map((k) => Math.round(median(acc.cpu.map((c) => c[k])))).join(' / '),
    };
  }),
);
{
  const l = summarize(prop.beacon.local);
  const o = summarize(prop.beacon.remote);
  console.log(
    `Beacon watchers on the server that took the write: p50 ${fmtMs(l.p50)}, p99 ${fmtMs(l.p99)}; on the other servers: p50 ${fmtMs(o.p50)}, p99 ${fmtMs(o.p99)}`,
  );
}
if (prop.beacon.wakeups > 0) console.log(`(Beacon watchers woken without the change and asked again: ${prop.beacon.wakeups})`);

printTable(
  `4. Read throughput, GET ${readPath} (${tput[1][0].generator}, ${CONNECTIONS} connections; ${tput[1].length} runs each)`,
  [
    ['servers', 'n'],
    ['req/s (median)', 'rps'],
    ['req/s per run', 'runs'],
    ['p99 (worst generator)', 'p99'],
    ['errors', 'errors'],
    ['cores: Beacon / etcd / load', 'cores'],
  ],
  [1, 3].map((n) => ({
    n: String(n),
    rps: fmtInt(median(tput[n].map((x) => x.rps))),
    runs: tput[n].map((x) => fmtInt(x.rps)).join(' / '),
    p99: fmtMs(median(tput[n].map((x) => x.p99))),
    errors: fmtInt(tput[n].reduce((s, x) => s + x.errors, 0)),
    cores: `${median(tput[n].map((x) => x.beaconCores)).toFixed(2)} / ${median(tput[n].map((x) => x.etcdCores)).toFixed(2)} / ${median(tput[n].map((x) => x.clientCores)).toFixed(2)}`,
  })),
);

// ---- verdicts -----------------------------------------------------------------------------------

const bRead = summarize(reads.get('beacon, same URL').latencies);
const bReadNew = summarize(reads.get('beacon, new URL each time').latencies);
const eRead = summarize(lin.latencies);
const readRatio = eRead.p50 / bRead.p50;
const readRatio99 = eRead.p99 / bRead.p99;
const propRatios = prop.beacon.p99s.map((x, i) => x / prop.etcd.p99s[i]);
const propRatio = median(propRatios);
const tputRatios = tput[3].map((x, i) => x.rps / tput[1][i].rps);
console.log('\nSummary');
console.log(
  `  registrations/s: Beacon ${fmtInt(regBeacon.rate)}, etcd lease per instance ${fmtInt(regLeaseEach.rate)} (Beacon ${fmtRatio(regBeacon.rate / regLeaseEach.rate)}),` +
    ` etcd shared lease ${fmtInt(regLeaseShared.rate)} (Beacon ${fmtRatio(regBeacon.rate / regLeaseShared.rate)})`,
);
console.log(
  `  discovery p50/p99: Beacon ${fmtMs(bRead.p50)} / ${fmtMs(bRead.p99)} (new URL each time ${fmtMs(bReadNew.p50)} / ${fmtMs(bReadNew.p99)}),` +
    ` etcd range ${fmtMs(eRead.p50)} / ${fmtMs(eRead.p99)}: Beacon ${fmtRatio(readRatio)} faster at p50, ${fmtRatio(readRatio99)} at p99` +
    ` (new URL: ${fmtRatio(eRead.p50 / bReadNew.p50)} / ${fmtRatio(eRead.p99 / bReadNew.p99)});` +
    ` goal >= 5x: p50 ${readRatio >= 5 ? 'MET' : 'MISSED'}, p99 ${readRatio99 >= 5 ? 'MET' : 'MISSED'}`,
);
console.log(
  `  propagation to ${fmtInt(WATCHERS)}: p50/p99 Beacon ${fmtMs(summarize(prop.beacon.latencies).p50)} / ${fmtMs(summarize(prop.beacon.latencies).p99)},` +
    ` etcd ${fmtMs(summarize(prop.etcd.latencies).p50)} / ${fmtMs(summarize(prop.etcd.latencies).p99)}; p99 per round Beacon / etcd ${propRatios.map(fmtRatio).join(' / ')},` +
    ` median ${fmtRatio(propRatio)}; goal below etcd's: ${propRatio < 1 ? 'MET' : 'MISSED'}`,
);
console.log(
  `  read throughput: 1 server ${fmtInt(median(tput[1].map((x) => x.rps)))} req/s, 3 servers ${fmtInt(median(tput[3].map((x) => x.rps)))} req/s;` +
    ` 3 / 1 per pair ${tputRatios.map(fmtRatio).join(' / ')}, median ${fmtRatio(median(tputRatios))}`,
);
console.log(busyLine());
process.exit(0);
