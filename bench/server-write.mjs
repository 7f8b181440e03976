// Durable registrations per second: 64 concurrent clients, each awaiting its answer before
// sending the next (Beacon answers 200 only once the write is fsynced), every request a new
// service ID. Baseline in the same run: a single-member etcd on this machine, driven the same
// way over its v3 JSON gateway (64 concurrent put loops, distinct keys, similar value size).
// Goal (issue 2): Beacon at least 10,000 registrations/s; etcd manages about 1,000/s.
//
// (--bin PATH runs another checkout's bin/beacon, to compare two builds.)
// Usage: npm run build && node bench/server-write.mjs [--seconds 5] [--warmup 1] [--rounds 2] [--clients 64] [--profile]
//   --profile: one more Beacon run under the V8 CPU profiler, then its top functions.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { startEtcd } from './lib/etcd.mjs';
import { getJson, pool } from './lib/http.mjs';
import { connectInspector } from './lib/inspector.mjs';
import { printProfile } from './lib/cpu-profile.mjs';
import { ensureWrk, runChild, undiciLoad, wrkLoad } from './lib/load.mjs';
import { busyLine, machineLine } from './lib/machine.mjs';
import { cpuTimeMs } from './lib/proc.mjs';
import { fmtInt, fmtMs, fmtRatio, median, printTable } from './lib/stats.mjs';

requireBuild('bench/server-write.mjs');
const { values: flags } = parseArgs({
  options: {
    bin: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    clients: { type: 'string', default: '64' },
    profile: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(flags.seconds);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
const CLIENTS = Number(flags.clients);
const GOAL = 10_000;
const ETCD_WORKER = fileURLToPath(new URL('./lib/etcd-put-worker.mjs', import.meta.url));

/** A registration body; {n} is unique per request, so every request adds a new instance. */
const registration = (run) => `{"ID":"${run}-{n}","Name":"svc-{n%100}","Address":"10.1.2.3","Port":8080,"Tags":["v2","primary"],"Meta":{"version":"2.4.1"}}`;
/** What the catalog stores for such a registration, so etcd writes values of the same size. */
const storedRecord = (run) =>
  `{"ID":"${run}-{n}","Service":"svc","Tags":["v2","primary"],"Address":"10.1.2.3","TaggedAddresses":{},"Meta":{"version":"2.4.1"},"Port":8080,"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Kind":""}`;

console.log(`server-write: ${CLIENTS} concurrent clients, each awaiting its durable answer; ${WARMUP}s warm-up + ${SECONDS}s x ${ROUNDS} rounds per target`);
console.log(`machine: ${machineLine()}`);

async function etcdLoad(endpoint, pid, run, seconds, warmupSeconds) {
  const input = { endpoint, loops: CLIENTS, seconds, warmupSeconds, prefix: `/bench/services/${run}-`, value: storedRecord(run) };
  const before = cpuTimeMs(pid);
  const { out, cpuMs, wallMs } = await runChild(process.execPath, [ETCD_WORKER, JSON.stringify(input)]);
  const r = JSON.parse(out.trim().split('\n').pop());
  // Server CPU is taken over the whole worker run (warm-up included), per put sent.
  const serverCpuMs = cpuTimeMs(pid) - before;
  return { ...r, clientCpu: cpuMs / wallMs, cpuMs: serverCpuMs, cpuUsPerReq: (serverCpuMs * 1000) / r.sent };
}

const beacon = await startBeacon({ bin: flags.bin, ...(flags.profile ? { nodeArgs: ['--inspect=127.0.0.1:0'] } : {}) });
const etcd = await startEtcd();
if (!etcd) console.log('etcd is not available (no /usr/bin/etcd and no apt-get): the etcd baseline is skipped');
const useWrk = ensureWrk() !== null;

const targets = [
  {
    key: 'beacon-undici',
    label: 'beacon (undici client)',
    run: (r) =>
      undiciLoad({
        origin: beacon.url,
        serverPid: beacon.pid,
        method: 'PUT',
        path: '/v1/agent/service/register',
        headers: { 'content-type': 'application/json' },
        connections: CLIENTS,
        seconds: SECONDS,
        warmupSeconds: WARMUP,
        body: registration(`u${r}`),
        warmupBody: registration(`uw${r}`),
      }),
  },
  ...(useWrk
    ? [
        {
          key: 'beacon-wrk',
          label: 'beacon (wrk)',
          run: (r) =>
            wrkLoad({
              origin: beacon.url,
              serverPid: beacon.pid,
              method: 'PUT',
              path: '/v1/agent/service/register',
              connections: CLIENTS,
              seconds: SECONDS,
              warmupSeconds: WARMUP,
              body: registration(`w${r}`),
              warmupBody: registration(`ww${r}`),
            }),
        },
      ]
    : []),
  ...(etcd ? [{ key: 'etcd', label: `etcd ${etcd.version} (v3 JSON gateway)`, run: (r) => etcdLoad(etcd.endpoint, etcd.pid, `e${r}`, SECONDS, WARMUP) }] : []),
];

const results = Object.fromEntries(targets.map((t) => [t.key, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) {
    const res = await t.run(r);
    if (res.errors > 0 || res.non2xx > 0) throw new Error(`${t.label}: ${res.errors} errors, ${res.non2xx ?? 0} non-2xx answers (${res.firstError ?? ''})`);
    results[t.key].push(res);
  }
}

let profile;
if (flags.profile) {
  const inspector = await connectInspector(beacon.output);
  await inspector.startProfile();
  await targets[useWrk ? 1 : 0].run(ROUNDS);
  profile = await inspector.stopProfile();
  inspector.close();
}

// Every acknowledged registration is in the catalog: count the instances Beacon now holds.
const check = pool(beacon.url, 2);
const services = await getJson(check, '/v1/agent/services');
await check.close();
const registered = Object.keys(services.body).length;
await beacon.stop();
await etcd?.stop();

const rps = (k) => median(results[k].map((x) => x.rps));
const etcdRps = etcd ? rps('etcd') : NaN;
const rows = targets.map((t) => {
  const list = results[t.key];
  return {
    target: t.label,
    rps: fmtInt(rps(t.key)),
    p50: fmtMs(median(list.map((x) => x.p50))),
    p99: fmtMs(median(list.map((x) => x.p99))),
    cpu: Number.isFinite(list[0].cpuUsPerReq) ? fmtInt(median(list.map((x) => x.cpuUsPerReq))) : '-',
    client: `${Math.round(100 * median(list.map((x) => x.clientCpu)))}%`,
    vsEtcd: fmtRatio(rps(t.key) / etcdRps),
    rounds: list.map((x) => fmtInt(x.rps)).join(' / '),
  };
});
printTable(
  `Durable registrations/s (${CLIENTS} concurrent clients; median of ${ROUNDS} rounds)`,
  [
    ['target', 'target'],
    ['writes/s', 'rps'],
    ['p50', 'p50'],
    ['p99', 'p99'],
    ['server CPU us/write', 'cpu'],
    ['client CPU', 'client'],
    ['vs etcd', 'vsEtcd'],
    ['writes/s per round', 'rounds'],
  ],
  rows,
);
console.log(`\nBeacon held ${fmtInt(registered)} service instances afterwards (every acknowledged registration plus the consul service).`);
const best = rps('beacon-undici');
console.log(
  `Beacon ${fmtInt(best)} registrations/s with the undici client (goal >= ${fmtInt(GOAL)}/s): ${best >= GOAL ? 'MET' : 'MISSED'}` +
    (etcd ? `; ${fmtRatio(best / etcdRps)} etcd's ${fmtInt(etcdRps)} puts/s` : ''),
);
if (profile) printProfile(profile, 30, `of Beacon under ${CLIENTS} registering clients`);
console.log(busyLine());
