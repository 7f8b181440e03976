// Health benchmarks (issue 3), against the built server (`node bin/beacon server`, a child process):
//
// 1. Propagation: a fleet of instances, half with HTTP checks (1 s interval, 1 s timeout, the
//    default 2 failures before critical) served by real HTTP listeners, half with 2 s TTL checks
//    kept alive by heartbeats every 500 ms. Instances are killed at random moments (listener
//    closed and its connections dropped; heartbeats stopped), and a blocking-query watcher on
//    /v1/health/service/:name?passing records when each one leaves the results. Prints
//    death → absence p50/p99/max per kind against the bound (interval × failures +
//    timeout + 1 s, or TTL + 1 s), and any instance that left without being killed.
// 2. Heartbeats: closed-loop PUT /v1/agent/check/pass/:id over many keep-alive connections
//    (undici), spread over 1,000 TTL checks; the store revision is read before and after (a
//    heartbeat that changes nothing writes nothing). Side by side in the same run: a bare
//    node:http server answering 200 to the same PUTs; prints the ratio.
//    Goal: at least 20,000 heartbeats/s with p99 under 10 ms.
//
// Usage: npm run build && node bench/health-propagation.mjs [--instances 300] [--kill 100]
//          [--kill-window 10] [--seconds 5] [--warmup 1] [--connections 64] [--checks 1000]
//          [--rounds 3] [--only propagation|heartbeats]
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { startBare } from './lib/bare.mjs';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { parallel, pool, putJson } from './lib/http.mjs';
import { undiciLoad } from './lib/load.mjs';
import { machineLine } from './lib/machine.mjs';
import { fmtInt, fmtMs, fmtRatio, median, printTable, summarize } from './lib/stats.mjs';

requireBuild('bench/health-propagation.mjs');
const { values: flags } = parseArgs({
  options: {
    instances: { type: 'string', default: '300' },
    kill: { type: 'string', default: '100' },
    'kill-window': { type: 'string', default: '10' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '64' },
    checks: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const INSTANCES = Number(flags.instances);
const KILL = Math.min(Number(flags.kill), INSTANCES);
const KILL_WINDOW_MS = Number(flags['kill-window']) * 1000;
const SECONDS = Number(flags.seconds);
const WARMUP = Number(flags.warmup);
const CONNECTIONS = Number(flags.connections);
const CHECKS = Number(flags.checks);
const ROUNDS = Number(flags.rounds);
const GOAL_RPS = 20_000;
const GOAL_P99_MS = 10;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

console.log(`health-propagation: machine ${machineLine()}`);

async function storeRevision(origin) {
  const res = await request(`${origin}/metrics`);
  const m = /^beacon_store_revision (\d+)/m.exec(await res.body.text());
  return m ? Number(m[1]) : NaN;
}

// ---- 1. propagation -------------------------------------------------------------------------

const HTTP = { interval: 1000, timeout: 1000, failures: 2 };
const TTL_MS = 2000;
const BEAT_MS = 500;

/** One simulated instance: an HTTP listener (http kind) or a heartbeat loop (ttl kind). */
async function startInstance(kind, id, beacon, beats) {
  if (kind === 'http') {
    const sockets = new Set();
    const srv = createServer((_req, res) => res.end('ok'));
    srv.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const port = srv.address().port;
    await putJson(beacon, '/v1/agent/service/register', {
      ID: id,
      Name: 'fleet-http',
      Address: '127.0.0.1',
      Port: port,
      Check: { HTTP: `http://127.0.0.1:${port}/health`, Interval: `${HTTP.interval}ms`, Timeout: `${HTTP.timeout}ms` },
    });
    return {
      id,
      kind,
      kill: () => {
        srv.close();
        for (const s of sockets) s.destroy();
      },
      settled: async (killedAt) => killedAt,
    };
  }
  await putJson(beacon, '/v1/agent/service/register', { ID: id, Name: 'fleet-ttl', Port: 1, Check: { TTL: `${TTL_MS}ms` } });
  let alive = true;
  let inflight = Promise.resolve();
  let lastAnswered = 0;
  const beat = () => {
    if (!alive) return inflight;
    inflight = (async () => {
      try {
        const res = await beats.request({ method: 'PUT', path: `/v1/agent/check/pass/service:${id}` });
        await res.body.dump();
        lastAnswered = performance.now();
      } catch {
        /* the next beat retries */
      }
    })();
    return inflight;
  };
  await beat();
  const timer = setInterval(beat, BEAT_MS * (0.9 + Math.random() * 0.2));
  return {
    id,
    kind,
    kill: () => {
      alive = false;
      clearInterval(timer);
    },
    // A heartbeat already on the wire when the process "died" still lands: death counts from its answer.
    settled: async (killedAt) => {
      await inflight;
      return Math.max(killedAt, lastAnswered);
    },
  };
}

/** Watches ?passing for `service` with blocking queries; calls onResult(ids, at) for each answer. */
function watchPassing(origin, service, onResult) {
  let stopped = false;
  const client = new Pool(origin, { connections: 1 });
  (async () => {
    let index = 0;
    while (!stopped) {
      try {
        const res = await client.request({ method: 'GET', path: `/v1/health/service/${service}?passing&index=${index}&wait=30s` });
        const body = await res.body.json();
        const at = performance.now();
        const next = Number(res.headers['x-consul-index'] ?? 0);
        index = next < index ? 0 : next;
        onResult(new Set(body.map((e) => e.Service.ID)), at);
      } catch {
        if (!stopped) await sleep(50);
      }
    }
  })();
  return () => {
    stopped = true;
    void client.close().catch(() => undefined);
  };
}

async function propagation() {
  const server = await startBeacon();
  const admin = pool(server.url, 16);
  const beats = new Pool(server.url, { connections: 16 });
  try {
    console.log(
      `\npropagation: ${INSTANCES} instances (half HTTP checks ${HTTP.interval} ms/${HTTP.timeout} ms/${HTTP.failures} failures, half ${TTL_MS} ms TTL beating every ${BEAT_MS} ms); ${KILL} killed at random over ${KILL_WINDOW_MS / 1000} s`,
    );
    const instances = [];
    await parallel(INSTANCES, 16, async (i) => {
      const kind = i % 2 === 0 ? 'http' : 'ttl';
      instances[i] = await startInstance(kind, `${kind}-${i}`, admin, beats);
    });
    // All passing?
    const passing = { 'fleet-http': new Set(), 'fleet-ttl': new Set() };
    const deaths = new Map();
    const gone = new Map();
    const flapped = new Set();
    const stops = Object.keys(passing).map((svc) =>
      watchPassing(server.url, svc, (ids, at) => {
        for (const id of passing[svc]) {
          if (ids.has(id)) continue;
          if (deaths.has(id)) {
            if (!gone.has(id)) gone.set(id, at);
          } else flapped.add(id);
        }
        passing[svc] = ids;
      }),
    );
    const deadline = Date.now() + 15_000;
    while (passing['fleet-http'].size + passing['fleet-ttl'].size < INSTANCES) {
      if (Date.now() > deadline) throw new Error(`only ${passing['fleet-http'].size + passing['fleet-ttl'].size} of ${INSTANCES} instances passing after 15 s`);
      await sleep(100);
    }
    flapped.clear();
    // Kill KILL instances at random moments inside the window.
    const victims = [...instances].sort(() => Math.random() - 0.5).slice(0, KILL);
    await Promise.all(
      victims.map(async (v) => {
        await sleep(Math.random() * KILL_WINDOW_MS);
        deaths.set(v.id, performance.now());
        v.kill();
      }),
    );
    for (const v of victims) deaths.set(v.id, await v.settled(deaths.get(v.id)));
    const waitUntil = Date.now() + Math.max(HTTP.interval * HTTP.failures + HTTP.timeout, TTL_MS) + 5000;
    while (gone.size < KILL && Date.now() < waitUntil) await sleep(50);
    for (const s of stops) s();
    for (const inst of instances) if (!deaths.has(inst.id)) inst.kill();

    const rows = [];
    for (const kind of ['http', 'ttl']) {
      const killed = victims.filter((v) => v.kind === kind);
      const lat = killed.filter((v) => gone.has(v.id)).map((v) => gone.get(v.id) - deaths.get(v.id));
      const s = summarize(lat);
      const bound = kind === 'http' ? HTTP.interval * HTTP.failures + HTTP.timeout + 1000 : TTL_MS + 1000;
      rows.push({
        kind: kind === 'http' ? `HTTP (${HTTP.interval / 1000}s x ${HTTP.failures} + ${HTTP.timeout / 1000}s)` : `TTL (${TTL_MS / 1000}s)`,
        instances: fmtInt(instances.filter((x) => x.kind === kind).length),
        killed: fmtInt(killed.length),
        seen: fmtInt(lat.length),
        p50: fmtMs(s.p50),
        p99: fmtMs(s.p99),
        max: fmtMs(s.max),
        bound: fmtMs(bound),
        within: lat.length === killed.length && s.max <= bound ? 'yes' : 'NO',
      });
    }
    printTable(
      'Death -> absence from ?passing (blocking-query watcher)',
      [
        ['checks', 'kind'],
        ['instances', 'instances'],
        ['killed', 'killed'],
        ['seen gone', 'seen'],
        ['p50', 'p50'],
        ['p99', 'p99'],
        ['max', 'max'],
        ['bound', 'bound'],
        ['within bound', 'within'],
      ],
      rows,
    );
    console.log(`instances that left ?passing without being killed: ${flapped.size}`);
  } finally {
    await beats.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await server.stop();
  }
}

// ---- 2. heartbeats --------------------------------------------------------------------------

async function heartbeats() {
  const server = await startBeacon();
  const admin = pool(server.url, 16);
  try {
    console.log(
      `\nheartbeats: ${CHECKS} TTL checks; closed loop over ${CONNECTIONS} keep-alive connections (undici); ${WARMUP}s warm-up + ${SECONDS}s per target`,
    );
    await parallel(CHECKS, 16, (i) => putJson(admin, '/v1/agent/service/register', { ID: `hb-${i}`, Name: `hb-${i % 50}`, Port: 1, Check: { TTL: '10m' } }));
    await parallel(CHECKS, 16, async (i) => {
      const res = await admin.request({ method: 'PUT', path: `/v1/agent/check/pass/service:hb-${i}` });
      await res.body.dump();
    });
    const load = { connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP, method: 'PUT', path: `/v1/agent/check/pass/service:hb-{n%${CHECKS}}` };
    const bare = await startBare({ status: 200, headers: {}, body: Buffer.alloc(0) });
    const runs = { beacon: [], bare: [] };
    let heartbeatsSent = 0;
    const revBefore = await storeRevision(server.url);
    try {
      // Alternate the two targets, so both see the same (shared, noisy) machine.
      for (let r = 0; r < ROUNDS; r++) {
        const b = await undiciLoad({ ...load, origin: server.url, serverPid: server.pid });
        heartbeatsSent += b.sent;
        runs.beacon.push(b);
        runs.bare.push(await undiciLoad({ ...load, origin: bare.url, serverPid: bare.proc.pid }));
      }
    } finally {
      await bare.stop();
    }
    const revAfter = await storeRevision(server.url);
    const med = (list, k) => median(list.map((x) => x[k]));
    const row = (name, list) => ({
      name,
      rps: fmtInt(med(list, 'rps')),
      p50: fmtMs(med(list, 'p50')),
      p99: fmtMs(med(list, 'p99')),
      max: fmtMs(Math.max(...list.map((x) => x.max))),
      errors: fmtInt(list.reduce((n, x) => n + (x.errors ?? 0) + (x.non2xx ?? 0), 0)),
      cpu: `${med(list, 'cpuUsPerReq').toFixed(1)} us`,
      all: list.map((x) => fmtInt(x.rps)).join(' / '),
    });
    printTable(
      `Heartbeats (PUT /v1/agent/check/pass/:id; median of ${ROUNDS} alternating rounds)`,
      [
        ['target', 'name'],
        ['req/s', 'rps'],
        ['p50', 'p50'],
        ['p99', 'p99'],
        ['max', 'max'],
        ['errors', 'errors'],
        ['server CPU/req', 'cpu'],
        ['req/s per round', 'all'],
      ],
      [row('beacon', runs.beacon), row('bare node:http', runs.bare)],
    );
    const rps = med(runs.beacon, 'rps');
    const p99 = med(runs.beacon, 'p99');
    console.log(
      `beacon / bare: ${fmtRatio(rps / med(runs.bare, 'rps'))} of the throughput; server CPU per request ${fmtRatio(med(runs.beacon, 'cpuUsPerReq') / med(runs.bare, 'cpuUsPerReq'))} of bare`,
    );
    console.log(`store revision during ${fmtInt(heartbeatsSent)} heartbeats: ${revBefore} -> ${revAfter} (${revAfter - revBefore} writes)`);
    console.log(
      `goal (>= ${fmtInt(GOAL_RPS)}/s, p99 < ${GOAL_P99_MS} ms): ${rps >= GOAL_RPS && p99 < GOAL_P99_MS ? 'met' : 'NOT met'}` +
        `; load generator CPU ${(med(runs.beacon, 'clientCpu') * 100).toFixed(0)}% of a core`,
    );
  } finally {
    await admin.close().catch(() => undefined);
    await server.stop();
  }
}

if (!flags.only || flags.only === 'propagation') await propagation();
if (!flags.only || flags.only === 'heartbeats') await heartbeats();
process.exit(0);
