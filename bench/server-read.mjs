// GET /v1/health/service/:name throughput and latency on a real Beacon server, against a bare
// node:http server answering the very same bytes (status, headers, body recorded from Beacon),
// under the same closed-loop load (wrk, else the undici generator), in the same run.
// Goals (design.md): cached reads at least 0.85x the bare server, uncached reads (a URL never
// seen before, so every answer is built from the catalog) at least 0.5x; each case prints
// Beacon's row and the bare server's side by side, with the ratio of req/s and of CPU per request.
//
// (--bin PATH runs another checkout's bin/beacon, to compare two builds.)
// Usage: npm run build && node bench/server-read.mjs [--seconds 2] [--warmup 2] [--rounds 6] [--connections 64] [--profile]
//   --profile plain|passing|uncached: one more Beacon run of that case under the V8 CPU
//   profiler, then its top functions.
import { parseArgs } from 'node:util';
import { startBare, record } from './lib/bare.mjs';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { getJson, pool, putJson } from './lib/http.mjs';
import { printProfile } from './lib/cpu-profile.mjs';
import { connectInspector } from './lib/inspector.mjs';
import { getLoad } from './lib/load.mjs';
import { busyLine, machineLine } from './lib/machine.mjs';
import { fmtInt, fmtMs, fmtRatio, median, printTable } from './lib/stats.mjs';

requireBuild('bench/server-read.mjs');
const { values: flags } = parseArgs({
  options: {
    bin: { type: 'string' },
    seconds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '64' },
    instances: { type: 'string', default: '10' },
    profile: { type: 'string' },
  },
});
const SECONDS = Number(flags.seconds);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);
const INSTANCES = Number(flags.instances);

console.log(
  `server-read: GET /v1/health/service/web (${INSTANCES} instances), ${CONNECTIONS} keep-alive connections, ${WARMUP}s warm-up, then ${ROUNDS} rounds of ${SECONDS}s per target, alternating`,
);
console.log(`machine: ${machineLine()}`);

const cases = [
  { key: 'plain', name: 'health/service/web', path: '/v1/health/service/web', goal: 0.85 },
  { key: 'passing', name: 'health/service/web?passing', path: '/v1/health/service/web?passing=1', goal: 0.85 },
  // A URL never seen before on every request: no cached answer applies, every request builds
  // its answer from the catalog.
  { key: 'uncached', name: 'health/service/web uncached', path: '/v1/health/service/web?passing=1&bench={n}', goal: 0.5 },
];
const profiled = flags.profile === undefined ? undefined : cases.find((c) => c.key === flags.profile);
if (flags.profile !== undefined && !profiled) throw new Error(`--profile takes one of ${cases.map((c) => c.key).join(', ')}`);
const beacon = await startBeacon({ bin: flags.bin, ...(profiled ? { nodeArgs: ['--inspect=127.0.0.1:0'] } : {}) });
const setup = pool(beacon.url, 8);
// Ten instances on ten nodes, each with a passing service check: a typical health answer.
for (let i = 0; i < INSTANCES; i++) {
  await putJson(setup, '/v1/catalog/register', {
    Node: `node-${i}`,
    Address: `10.0.0.${i + 1}`,
    NodeMeta: { rack: `r${i % 3}` },
    Service: { ID: `web-${i}`, Service: 'web', Port: 8080, Address: `10.0.0.${i + 1}`, Tags: ['v2', 'primary'], Meta: { version: '2.4.1' } },
    Check: {
      CheckID: `service:web-${i}`,
      Name: 'web health',
      Status: 'passing',
      ServiceID: `web-${i}`,
      Output: 'HTTP GET http://10.0.0.1:8080/health: 200 OK',
    },
  });
}
const check = await getJson(setup, '/v1/health/service/web');
if (check.status !== 200 || check.body.length !== INSTANCES)
  throw new Error(`expected ${INSTANCES} health entries, got ${JSON.stringify(check.body).slice(0, 200)}`);
await setup.close();

const rows = [];
const verdicts = [];
for (const c of cases) {
  const once = c.path.replaceAll('{n}', 'x');
  const rec = await record(`${beacon.url}${once}`);
  const bare = await startBare(rec);
  const again = await record(`${bare.url}${once}`);
  if (!again.body.equals(rec.body)) throw new Error('the bare server does not answer the same bytes');
  const results = { beacon: [], bare: [] };
  const ratios = [];
  const cpuRatios = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order so drift on a shared machine does not favour one target; the ratio
    // is taken per round (a pair measured back to back), then the median over rounds.
    const order = r % 2 === 0 ? ['beacon', 'bare'] : ['bare', 'beacon'];
    for (const t of order) {
      const [origin, serverPid] = t === 'beacon' ? [beacon.url, beacon.pid] : [bare.url, bare.proc.pid];
      // Warm-up once per target; later rounds find it warm.
      const res = await getLoad({ origin, serverPid, path: c.path, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: r === 0 ? WARMUP : 0 });
      if (res.errors > 0 || res.non2xx > 0) throw new Error(`${t} ${c.path}: ${res.errors} errors, ${res.non2xx} non-2xx answers`);
      results[t].push(res);
    }
    ratios.push(results.beacon[r].rps / results.bare[r].rps);
    cpuRatios.push(results.bare[r].cpuUsPerReq / results.beacon[r].cpuUsPerReq);
  }
  await bare.stop();
  const ratio = median(ratios);
  const cpuRatio = median(cpuRatios);
  const row = (label, list, extra) => ({
    case: c.name,
    target: label,
    bytes: fmtInt(rec.body.length),
    generator: list[0].generator,
    rps: fmtInt(median(list.map((x) => x.rps))),
    p50: fmtMs(median(list.map((x) => x.p50))),
    p99: fmtMs(median(list.map((x) => x.p99))),
    cpu: fmtInt(median(list.map((x) => x.cpuUsPerReq))),
    rounds: list.map((x) => fmtInt(x.rps)).join(' / '),
    ...extra,
  });
  rows.push(
    row('beacon', results.beacon, { ratio: fmtRatio(ratio), cpuRatio: fmtRatio(cpuRatio), ratios: ratios.map(fmtRatio).join(' / ') }),
    row('bare node:http', results.bare, { ratio: '1.00x', cpuRatio: '1.00x', ratios: '' }),
  );
  const met = (x) => (x >= c.goal ? 'MET' : 'MISSED');
  verdicts.push(
    `${c.name}: Beacon ${fmtRatio(ratio)} of bare node:http's req/s, CPU per request bare/Beacon = ${fmtRatio(cpuRatio)} (goal >= ${c.goal}x: req/s ${met(ratio)}, CPU ${met(cpuRatio)})`,
  );
}
let profile;
if (profiled) {
  const inspector = await connectInspector(beacon.output);
  await inspector.startProfile();
  await getLoad({ origin: beacon.url, path: profiled.path, connections: CONNECTIONS, seconds: Math.max(SECONDS, 4) });
  profile = await inspector.stopProfile();
  inspector.close();
}
await beacon.stop();

printTable(
  `GET throughput (load generator: ${rows[0].generator}; median of ${ROUNDS} rounds)`,
  [
    ['case', 'case'],
    ['target', 'target'],
    ['body B', 'bytes'],
    ['req/s', 'rps'],
    ['p50', 'p50'],
    ['p99', 'p99'],
    ['ratio', 'ratio'],
    ['server CPU us/req', 'cpu'],
    ['CPU ratio', 'cpuRatio'],
    ['req/s per round', 'rounds'],
    ['ratio per round', 'ratios'],
  ],
  rows,
);
console.log('\nratio = Beacon req/s / bare req/s, paired per round (median). CPU ratio = bare server CPU per request /');
console.log("Beacon's (median): the share of a bare server's speed Beacon reaches when CPU-bound; steadier on a shared machine.");
for (const v of verdicts) console.log(v);
if (profile) printProfile(profile, 30, `of Beacon serving GET ${profiled.path}`);
console.log(busyLine());
