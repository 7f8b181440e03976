// Fan-out of one write to many watchers: W blocking queries parked on one service
// (`GET /v1/health/service/web?index=N&wait=60s`, one connection each) and one registration
// that changes the service. Times, from the moment the write is sent, its acknowledgement and
// every watcher's complete answer. Baseline in the same run: a single-member etcd (Debian's
// etcd-server) with W watchers on one key and one put of that key, over its gRPC API.
//
// Both servers are pinned to CPU 0; the client (bench/lib/fanout-worker.mjs, one process for
// both, so one clock) to CPU 1. Rounds alternate Beacon and etcd, with W ascending.
// Goals: with 1,000 watchers, Beacon's p99 below etcd's p99 in the same run (the median over
// rounds of the per-round ratio); the write's acknowledgement about the same with 0, 100 and
// 1,000 waiters.
//
// --etcd-connections C spreads etcd's watchers over C gRPC connections, one Watch stream each
// (default 1: every watcher on one stream, as etcd's clients do for watches made with the same
// context; C = W gives each watcher its own connection, as each Beacon watcher has).
// (--bin PATH runs another checkout's bin/beacon, to compare two builds.)
// Usage: npm run build && node bench/fanout.mjs [--watchers 0,100,1000] [--rounds 5] [--warmup 2]
//          [--instances 10] [--etcd-connections 1] [--profile]
//   --profile: one more round of the largest W on Beacon under the V8 CPU profiler, then its top functions.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { trackChild } from './lib/cleanup.mjs';
import { printProfile } from './lib/cpu-profile.mjs';
import { startEtcd } from './lib/etcd.mjs';
import { getJson, pool, putJson } from './lib/http.mjs';
import { connectInspector } from './lib/inspector.mjs';
import { busyLine, machineLine, pinned } from './lib/machine.mjs';
import { fmtInt, fmtMs, fmtRatio, median, percentile, printTable } from './lib/stats.mjs';

requireBuild('bench/fanout.mjs');
const { values: flags } = parseArgs({
  options: {
    bin: { type: 'string' },
    watchers: { type: 'string', default: '0,100,1000' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    instances: { type: 'string', default: '10' },
    'etcd-connections': { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
  },
});
const COUNTS = flags.watchers
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const ROUNDS = Number(flags.rounds);
const WARMUP = Number(flags.warmup);
const INSTANCES = Number(flags.instances);
const ETCD_CONNECTIONS = Number(flags['etcd-connections']);
const MAX = COUNTS[COUNTS.length - 1];
const SERVICE = 'web';
const WORKER = fileURLToPath(new URL('./lib/fanout-worker.mjs', import.meta.url));

console.log(
  `fanout: one write to ${COUNTS.join(' / ')} watchers of one service (Beacon, ${INSTANCES} instances) or one key (etcd, ` +
    `${ETCD_CONNECTIONS === 1 ? 'one gRPC Watch stream' : `${ETCD_CONNECTIONS} gRPC connections`}); ${WARMUP} warm-up + ${ROUNDS} rounds per count, alternating`,
);
console.log(`machine: ${machineLine()}`);

/** The client process, pinned to the load CPU, spoken to over IPC. */
function startWorker() {
  const [cmd, args] = pinned('load', process.execPath, [WORKER]);
  const child = trackChild(spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      child.once('message', (m) => (m.error ? reject(new Error(`fanout worker: ${m.error}`)) : resolve(m)));
      child.send(msg);
    });
  return { ask, child };
}

const beacon = await startBeacon({ bin: flags.bin, ...(flags.profile ? { nodeArgs: ['--inspect=127.0.0.1:0'] } : {}) });
const setup = pool(beacon.url, 8);
for (let i = 0; i < INSTANCES; i++) {
  await putJson(setup, '/v1/catalog/register', {
    Node: `node-${i}`,
    Address: `10.0.0.${i + 1}`,
    NodeMeta: { rack: `r${i % 3}` },
    Service: { ID: `${SERVICE}-${i}`, Service: SERVICE, Port: 8080, Address: `10.0.0.${i + 1}`, Tags: ['v2', 'primary'], Meta: { version: '2.4.1' } },
    Check: {
      CheckID: `service:${SERVICE}-${i}`,
      Name: 'web health',
      Status: 'passing',
      ServiceID: `${SERVICE}-${i}`,
      Output: 'HTTP GET http://10.0.0.1:8080/health: 200 OK',
    },
  });
}
const check = await getJson(setup, `/v1/health/service/${SERVICE}`);
if (check.body.length !== INSTANCES) throw new Error(`expected ${INSTANCES} instances, got ${check.body.length}`);
await setup.close();
const etcd = await startEtcd();
if (!etcd) console.log('etcd is not available (install etcd-server: `bash scripts/ensure-tools.sh --bench`): Beacon only');

const workers = { beacon: startWorker(), ...(etcd ? { etcd: startWorker() } : {}) };
await workers.beacon.ask({ op: 'init', target: 'beacon', origin: beacon.url, service: SERVICE, node: 'node-0', address: '10.0.0.1' });
// What the catalog stores for such a registration, so etcd's value is of the same size.
const stored = `{"ID":"${SERVICE}-0","Service":"${SERVICE}","Tags":["v2","primary"],"Address":"10.0.0.1","TaggedAddresses":{},"Meta":{"version":"2.4.1","round":"{round}"},"Port":8080,"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Kind":""}`;
if (etcd)
  await workers.etcd.ask({
    op: 'init',
    target: 'etcd',
    endpoint: etcd.endpoint,
    key: `/bench/services/${SERVICE}-0`,
    value: stored,
    connections: ETCD_CONNECTIONS,
  });

const results = new Map(); // `${target} ${w}` -> { acks: [], latencies: [], p99s: [] }
let bodyBytes = 0;
let round = 0;
for (const w of COUNTS) {
  // Warm-up rounds first (not recorded): the code of a fan-out runs once per write, so the
  // first few writes find it not yet optimised by the JIT.
  for (let r = -WARMUP; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['beacon', 'etcd'] : ['etcd', 'beacon'];
    for (const t of order) {
      if (!workers[t]) continue;
      const res = await workers[t].ask({ op: 'round', watchers: w, round: round++ });
      if (r < 0) continue;
      const k = `${t} ${w}`;
      if (!results.has(k)) results.set(k, { acks: [], latencies: [], p50s: [], p99s: [], gaps: [], firsts: [] });
      const acc = results.get(k);
      acc.acks.push(res.ackMs);
      acc.latencies.push(...res.latencies);
      const sorted = Float64Array.from(res.latencies).sort();
      acc.p50s.push(percentile(sorted, 50));
      acc.p99s.push(percentile(sorted, 99));
      let gap = 0;
      for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i] - sorted[i - 1]);
      acc.gaps.push(gap);
      acc.firsts.push(sorted[0]);
      if (t === 'beacon' && res.bodyBytes) bodyBytes = res.bodyBytes;
    }
  }
}

let profile;
if (flags.profile && MAX > 0) {
  const inspector = await connectInspector(beacon.output);
  await inspector.startProfile();
  await workers.beacon.ask({ op: 'round', watchers: MAX, round: round++ });
  profile = await inspector.stopProfile();
  inspector.close();
}
for (const w of Object.values(workers)) await w.ask({ op: 'close' });
await beacon.stop();
await etcd?.stop();

const rows = [];
for (const t of ['beacon', 'etcd']) {
  for (const w of COUNTS) {
    const acc = results.get(`${t} ${w}`);
    if (!acc) continue;
    const all = Float64Array.from(acc.latencies).sort();
    rows.push({
      target: t === 'beacon' ? 'beacon' : `etcd ${etcd.version}`,
      w: fmtInt(w),
      ack: fmtMs(median(acc.acks)),
      ackMax: fmtMs(Math.max(...acc.acks)),
      p50: w ? fmtMs(percentile(all, 50)) : '',
      p99: w ? fmtMs(percentile(all, 99)) : '',
      max: w ? fmtMs(all[all.length - 1]) : '',
      p99s: w ? acc.p99s.map((x) => fmtMs(x)).join(' / ') : '',
      gaps: w ? acc.gaps.map((x) => fmtMs(x)).join(' / ') : '',
      firsts: w ? acc.firsts.map((x) => fmtMs(x)).join(' / ') : '',
    });
  }
}
printTable(
  `One write, W watchers (${ROUNDS} rounds each; watcher latencies pooled over the rounds; Beacon's answer ${fmtInt(bodyBytes)} B)`,
  [
    ['target', 'target'],
    ['watchers', 'w'],
    ['write ack (median)', 'ack'],
    ['ack max', 'ackMax'],
    ['watchers p50', 'p50'],
    ['p99', 'p99'],
    ['max', 'max'],
    ['p99 per round', 'p99s'],
    ['first answer per round', 'firsts'],
    ['longest gap per round', 'gaps'],
  ],
  rows,
);
console.log('\nTimes from the moment the write is sent: "write ack" until its 200 (Beacon) or Put response (etcd),');
console.log('the watcher columns until each watcher had its complete answer (Beacon) or its event (etcd).');

if (MAX > 0 && etcd) {
  // Rounds are paired (Beacon and etcd back to back), so each round gives a ratio of p99s; the
  // verdict takes the median ratio, steadier than pooled figures on a shared machine.
  const b = results.get(`beacon ${MAX}`).p99s;
  const e = results.get(`etcd ${MAX}`).p99s;
  const ratios = b.map((x, i) => x / e[i]);
  const ratio = median(ratios);
  console.log(
    `${fmtInt(MAX)} watchers: p99 per round Beacon / etcd = ${ratios.map(fmtRatio).join(' / ')}; median ${fmtRatio(ratio)}` +
      ` (median p99 Beacon ${fmtMs(median(b))}, etcd ${fmtMs(median(e))}; goal: below etcd's): ${ratio < 1 ? 'MET' : 'MISSED'}`,
  );
}
const acks = COUNTS.map((w) => median(results.get(`beacon ${w}`).acks));
console.log(
  `Beacon write acknowledgement with ${COUNTS.map((w, i) => `${fmtInt(w)} waiters ${fmtMs(acks[i])}`).join(', ')}` +
    ` (${fmtInt(MAX)} / ${fmtInt(COUNTS[0])}: ${fmtRatio(acks[acks.length - 1] / acks[0])})`,
);
if (profile) printProfile(profile, 30, `of Beacon during one write to ${fmtInt(MAX)} watchers`);
console.log(busyLine());
process.exit(0);
