// Federation on one machine: two datacenters, each its own `beacon server` process, joined over
// the WAN. Two measurements, each side by side with its baseline in the same run:
//
// 1. Cross-datacenter reads: GET /v1/health/service/web?dc=dc2 sent to dc1 (forwarded to dc2)
//    against the same read sent to dc2 itself (local), under the same closed-loop load
//    (wrk, else the undici generator), alternating per round. Prints req/s, latency, and the
//    overhead per request (the forward adds one HTTP hop on loopback).
// 2. Prepared-query failover time: from the moment the last local instance of `pay` turns
//    critical (the PUT that fails its TTL check returns) until /v1/query/pay/execute on dc1
//    answers from dc2, polled back to back. Baseline: from the same moment until a local
//    /v1/health/service/pay?passing read (polled the same way) no longer lists it.
//
// Usage: npm run build && node bench/federation.mjs [--seconds 2] [--rounds 4] [--connections 16] [--failovers 20]
import { parseArgs } from 'node:util';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { getJson, pool, putJson } from './lib/http.mjs';
import { getLoad } from './lib/load.mjs';
import { busyLine, machineLine } from './lib/machine.mjs';
import { fmtInt, fmtMs, fmtRatio, median, percentile, printTable } from './lib/stats.mjs';

requireBuild('bench/federation.mjs');
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '16' },
    failovers: { type: 'string', default: '20' },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);
const FAILOVERS = Number(flags.failovers);

console.log(`federation: 2 datacenters on loopback; reads with ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS}s; ${FAILOVERS} failovers`);
console.log(`machine: ${machineLine()}`);

const dc1 = await startBeacon({ args: ['--datacenter', 'dc1', '--node', 's1', '--wan-interval', '500ms'] });
const dc2 = await startBeacon({ args: ['--datacenter', 'dc2', '--node', 's2', '--wan-interval', '500ms', '--join-wan', dc1.url] });
const c1 = pool(dc1.url, 4);
const c2 = pool(dc2.url, 4);
try {
  for (let i = 0; i < 200; i++) {
    const r = await getJson(c1, '/v1/catalog/datacenters');
    if (r.body?.length === 2) break;
    if (i === 199) throw new Error(`dc1 did not learn dc2: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  for (let i = 0; i < 10; i++) {
    await putJson(c2, '/v1/catalog/register', {
      Node: `node-${i}`,
      Address: `10.0.0.${i + 1}`,
      Service: { ID: `web-${i}`, Service: 'web', Port: 8080, Tags: ['v2'] },
      Check: { CheckID: `service:web-${i}`, Name: 'web', Status: 'passing', ServiceID: `web-${i}` },
    });
  }
  const fwd = await getJson(c1, '/v1/health/service/web?dc=dc2');
  const loc = await getJson(c2, '/v1/health/service/web?dc=dc2');
  if (fwd.status !== 200 || JSON.stringify(fwd.body) !== JSON.stringify(loc.body)) throw new Error('the forwarded read does not answer what dc2 answers');

  // ---- 1. cross-datacenter read vs local read ----------------------------------------------
  const PATH = '/v1/health/service/web?dc=dc2';
  const results = { cross: [], local: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['cross', 'local'] : ['local', 'cross'];
    for (const t of order) {
      const [origin, serverPid] = t === 'cross' ? [dc1.url, dc1.pid] : [dc2.url, dc2.pid];
      const res = await getLoad({
        origin,
        serverPid,
        path: PATH,
        connections: CONNECTIONS,
        seconds: SECONDS,
        warmupSeconds: r === 0 ? Number(flags.warmup) : 0,
      });
      if (res.errors > 0 || res.non2xx > 0) throw new Error(`${t}: ${res.errors} errors, ${res.non2xx} non-2xx answers`);
      results[t].push(res);
    }
  }
  const rps = (t) => median(results[t].map((x) => x.rps));
  const p50 = (t) => median(results[t].map((x) => x.p50));
  const p99 = (t) => median(results[t].map((x) => x.p99));
  printTable(
    `GET ${PATH} (generator: ${results.cross[0].generator}; median of ${ROUNDS} rounds)`,
    [
      ['target', 'target'],
      ['req/s', 'rps'],
      ['p50', 'p50'],
      ['p99', 'p99'],
      ['ratio', 'ratio'],
      ['req/s per round', 'rounds'],
    ],
    ['cross', 'local'].map((t) => ({
      target: t === 'cross' ? 'dc1, forwarded to dc2' : 'dc2 itself (local read)',
      rps: fmtInt(rps(t)),
      p50: fmtMs(p50(t)),
      p99: fmtMs(p99(t)),
      ratio: fmtRatio(rps(t) / rps('local')),
      rounds: results[t].map((x) => fmtInt(x.rps)).join(' / '),
    })),
  );
  console.log(
    `cross-datacenter overhead: p50 +${fmtMs(p50('cross') - p50('local'))} per request; ${fmtRatio(rps('cross') / rps('local'))} of the local read's req/s`,
  );

  // ---- 2. prepared-query failover time -------------------------------------------------------
  await putJson(c1, '/v1/agent/service/register', { Name: 'pay', ID: 'pay-1', Port: 9001, Check: { TTL: '10m', Status: 'passing' } });
  await putJson(c2, '/v1/agent/service/register', { Name: 'pay', ID: 'pay-2', Port: 9002 });
  {
    const res = await c1.request({
      method: 'POST',
      path: '/v1/query',
      body: JSON.stringify({ Name: 'pay', Service: { Service: 'pay', Failover: { Datacenters: ['dc2'] } } }),
    });
    if (res.statusCode !== 200) throw new Error(`POST /v1/query: ${res.statusCode} ${await res.body.text()}`);
    await res.body.text();
  }
  const until = async (client, path, done, limit = 20_000) => {
    const started = performance.now();
    for (let i = 0; i < limit; i++) {
      const r = await getJson(client, path);
      if (done(r.body)) return { ms: performance.now() - started, polls: i + 1 };
    }
    throw new Error(`${path}: condition not reached after ${limit} polls`);
  };
  const failover = [];
  const visible = [];
  const recovery = [];
  for (let i = 0; i < FAILOVERS; i++) {
    await putJson(c1, '/v1/agent/check/fail/service:pay-1', {});
    // Measured from here: the PUT that made the last local instance critical has returned.
    if (i % 2 === 0) failover.push((await until(c1, '/v1/query/pay/execute', (b) => b.Datacenter === 'dc2')).ms);
    else visible.push((await until(c1, '/v1/health/service/pay?passing', (b) => b.length === 0)).ms);
    await putJson(c1, '/v1/agent/check/pass/service:pay-1', {});
    recovery.push((await until(c1, '/v1/query/pay/execute', (b) => b.Datacenter === 'dc1')).ms);
  }
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { n: String(s.length), p50: fmtMs(percentile(s, 50)), p99: fmtMs(percentile(s, 99)), max: fmtMs(s[s.length - 1]) };
  };
  printTable(
    'prepared-query failover time, from the moment the last local instance turns critical',
    [
      ['measure', 'name'],
      ['n', 'n'],
      ['p50', 'p50'],
      ['p99', 'p99'],
      ['max', 'max'],
    ],
    [
      { name: 'execute answers from dc2 (failover)', ...stats(failover) },
      { name: 'baseline: local ?passing read drops it', ...stats(visible) },
      { name: 'execute answers from dc1 again (recovery)', ...stats(recovery) },
    ],
  );
} finally {
  await Promise.allSettled([c1.close(), c2.close()]);
  await Promise.allSettled([dc1.stop(), dc2.stop()]);
}
console.log(busyLine());
