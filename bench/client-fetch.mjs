// The SDK's cost on the request path, measured side by side in one run:
//  1. pick overhead per call: each balancing strategy on a 10-instance set, and beacon.pick()
//     (cache look-up + passive-health filter + balancer), in ns per call;
//  2. beacon.fetch('http://web/') throughput against plain undici fetch to the very same
//     upstream (a bare node:http child process), closed loop, alternating rounds; the same for
//     undici.request with beacon.dispatcher vs a plain Agent. Prints the ratios.
// Goal (issue 5): beacon.fetch at least 0.9x plain undici.
//
// Discovery is static (a fixed list naming the upstream) so the numbers isolate the SDK's
// per-request work; with HTTP discovery the set comes from the same in-memory cache.
//
// Usage: npm run build && node bench/client-fetch.mjs [--seconds 3] [--rounds 7] [--concurrency 32]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, fetch, request } from 'undici';
import { requireBuild } from './lib/beacon.mjs';
import { startBare } from './lib/bare.mjs';
import { machineLine, pinned, pinning } from './lib/machine.mjs';
import { fmtInt, fmtRatio, median, printTable } from './lib/stats.mjs';

requireBuild('bench/client-fetch.mjs');
const { BeaconClient, createBalancer, STRATEGIES } = await import('../dist/client/index.js');

// Run this process (the load generator) on the load CPU, the upstream on the server CPU.
if (pinning && process.env.BENCH_CLIENT_PINNED !== '1') {
  const [cmd, args] = pinned('load', process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)]);
  const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, BENCH_CLIENT_PINNED: '1' } });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  process.on('SIGINT', () => child.kill('SIGINT'));
  process.on('SIGTERM', () => child.kill('SIGTERM'));
} else {
  await main();
}

async function main() {
  const { values: flags } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '7' },
      concurrency: { type: 'string', default: '32' },
      picks: { type: 'string', default: '2000000' },
    },
  });
  const SECONDS = Number(flags.seconds);
  const ROUNDS = Number(flags.rounds);
  const CONCURRENCY = Number(flags.concurrency);
  const PICKS = Number(flags.picks);
  const GOAL = 0.9;

  console.log(
    `client-fetch: pick overhead (${fmtInt(PICKS)} picks per strategy), then fetch throughput, ${CONCURRENCY} concurrent callers, ${SECONDS}s x ${ROUNDS} rounds per target`,
  );
  console.log(`machine: ${machineLine()}`);

  // 1. Pick overhead.
  const set = Array.from({ length: 10 }, (_, i) => ({ id: `web-${i}`, address: `10.0.0.${i + 1}`, port: 8080, weight: 1 + (i % 3) }));
  const pickRows = [];
  for (const strategy of STRATEGIES) {
    const lb = createBalancer(strategy);
    const keys = Array.from({ length: 1024 }, (_, i) => `user-${i}`);
    let sink = 0;
    for (let i = 0; i < 50_000; i++) sink += lb.pick(set, { key: keys[i & 1023] }).port;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PICKS; i++) {
      const inst = lb.pick(set, { key: keys[i & 1023] });
      sink += inst.port;
    }
    const pickNs = Number(process.hrtime.bigint() - t0) / PICKS;
    const t1 = process.hrtime.bigint();
    const TRACKED = Math.max(1, PICKS >> 2);
    for (let i = 0; i < TRACKED; i++) {
      const inst = lb.pick(set, { key: keys[i & 1023] });
      lb.start(inst)({ latencyMs: 1 + (i & 7) });
    }
    const trackedNs = Number(process.hrtime.bigint() - t1) / TRACKED;
    if (sink === 42) console.log('');
    pickRows.push({ what: `createBalancer('${strategy}').pick`, pick: `${pickNs.toFixed(0)} ns`, tracked: `${trackedNs.toFixed(0)} ns` });
  }
  const staticClient = new BeaconClient({ static: { web: set.map((i) => ({ id: i.id, address: i.address, port: i.port })) }, deregisterOnSignals: false });
  await staticClient.discover('web');
  {
    const N = Math.max(1, PICKS >> 2);
    for (let i = 0; i < 20_000; i++) await staticClient.pick('web');
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await staticClient.pick('web');
    pickRows.push({ what: "await beacon.pick('web') (p2c-ewma)", pick: `${(Number(process.hrtime.bigint() - t0) / N).toFixed(0)} ns`, tracked: '' });
  }
  await staticClient.close();
  printTable(
    'pick overhead per call (10 instances)',
    [
      ['what', 'what'],
      ['pick', 'pick'],
      ['pick + start/end', 'tracked'],
    ],
    pickRows,
  );

  // 2. Throughput against one upstream.
  const body = Buffer.from(JSON.stringify({ ok: true, items: Array.from({ length: 8 }, (_, i) => ({ id: i, name: `item-${i}` })) }));
  const upstream = await startBare({ status: 200, headers: { 'content-type': 'application/json' }, body });
  const { port } = new URL(upstream.url);
  const plainAgent = new Agent({ connections: CONCURRENCY });
  const beacon = new BeaconClient({
    static: { web: [`127.0.0.1:${port}`] },
    agent: { connections: CONCURRENCY },
    deregisterOnSignals: false,
  });
  const plainUrl = `${upstream.url}/items`;
  const serviceUrl = 'http://web/items';

  const targets = {
    'undici fetch': () => fetch(plainUrl, { dispatcher: plainAgent }).then((r) => r.arrayBuffer()),
    'beacon.fetch': () => beacon.fetch(serviceUrl).then((r) => r.arrayBuffer()),
    'undici request': () => request(plainUrl, { dispatcher: plainAgent }).then((r) => r.body.arrayBuffer()),
    'request + beacon.dispatcher': () => request(serviceUrl, { dispatcher: beacon.dispatcher }).then((r) => r.body.arrayBuffer()),
  };
  // Sanity: both paths reach the upstream and get the same bytes.
  for (const [name, fn] of Object.entries(targets)) {
    const got = Buffer.from(await fn());
    if (!got.equals(body)) throw new Error(`${name} did not get the upstream's body`);
  }

  async function closedLoop(fn, seconds) {
    const end = performance.now() + seconds * 1000;
    let done = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          try {
            await fn();
            done++;
          } catch {
            failed++;
          }
        }
      }),
    );
    if (failed) throw new Error(`${failed} requests failed`);
    return done / seconds;
  }

  const pairs = [
    ['undici fetch', 'beacon.fetch'],
    ['undici request', 'request + beacon.dispatcher'],
  ];
  const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  const ratios = pairs.map(() => []);
  for (const [, fn] of Object.entries(targets)) await closedLoop(fn, 1); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    // Each round measures plain and SDK back to back (order alternating), so drift on a shared
    // machine hits both sides of a ratio alike; the verdict is the median of per-round ratios.
    pairs.forEach(([base, sdk], p) => {
      results[base].push(0);
      results[sdk].push(0);
      ratios[p].push(0);
    });
    for (let p = 0; p < pairs.length; p++) {
      const [base, sdk] = pairs[p];
      const order = round % 2 ? [sdk, base] : [base, sdk];
      for (const name of order) results[name][round] = await closedLoop(targets[name], SECONDS);
      ratios[p][round] = results[sdk][round] / results[base][round];
    }
  }
  const rows = [];
  const verdicts = [];
  pairs.forEach(([base, sdk], p) => {
    const ratio = median(ratios[p]);
    rows.push({ target: base, rps: fmtInt(median(results[base])), ratio: '' });
    rows.push({ target: sdk, rps: fmtInt(median(results[sdk])), ratio: `${fmtRatio(ratio)} (rounds ${ratios[p].map((r) => r.toFixed(2)).join(' ')})` });
    verdicts.push(`${sdk} / ${base} = ${fmtRatio(ratio)} (goal >= ${GOAL}x): ${ratio >= GOAL ? 'met' : 'NOT met'}`);
  });
  printTable(
    `throughput to one upstream, median of ${ROUNDS} rounds (requests/s; ratio = median of per-round ratios)`,
    [
      ['target', 'target'],
      ['req/s', 'rps'],
      ['vs plain', 'ratio'],
    ],
    rows,
  );
  console.log('');
  for (const v of verdicts) console.log(v);

  await beacon.close();
  await plainAgent.close();
  await upstream.stop();
}
