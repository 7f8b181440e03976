// The web UI and the event stream:
//  1. The services view with 1,000 services (each with a TTL check) in Debian's Chromium: time
//     from navigation to every row on screen, median over rounds. Baseline in the same run and
//     browser: a static HTML page holding the same 1,000-row table (no script), served by a bare
//     node:http server. Goal: under 1 s.
//  2. Event stream throughput: F followers on /v1/beacon/events (JSON lines, one connection each)
//     while R registrations are made (concurrency 32): events delivered per second to all of
//     them, and the registrations' rate beside the same registrations with no follower.
//  3. History memory: the heap 100,000 check-status events take in an EventHub (measured with
//     --expose-gc in a child process), beside the history's own estimate (beacon_events_history_bytes).
// Usage: npm run build && node bench/ui-events.mjs [--services 1000] [--rounds 5] [--followers 100] [--registrations 2000] [--events 100000]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { request } from 'undici';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { onCleanup } from './lib/cleanup.mjs';
import { parallel, pool, putJson } from './lib/http.mjs';
import { busyLine, machineLine } from './lib/machine.mjs';
import { fmtInt, fmtMB, fmtMs, fmtRatio, median, printTable } from './lib/stats.mjs';

requireBuild('bench/ui-events.mjs');
const { values: flags } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    followers: { type: 'string', default: '100' },
    registrations: { type: 'string', default: '2000' },
    events: { type: 'string', default: '100000' },
    'memory-child': { type: 'boolean', default: false },
  },
});

// ---- 3 (child): history memory --------------------------------------------------------------
if (flags['memory-child']) {
  const { EventHub } = await import('../dist/events/index.js');
  const n = Number(flags.events);
  const gc = () => {
    for (let i = 0; i < 3; i++) globalThis.gc();
  };
  const hub = new EventHub({ datacenter: 'dc1', history: { maxEvents: n, maxAgeMs: 7 * 86_400_000 } });
  const check = (i, status) => ({
    Node: `node-${i % 500}`,
    CheckID: `service:api-${i % 5000}`,
    Name: 'check',
    Status: status,
    Notes: '',
    Output: status === 'critical' ? 'HTTP GET http://10.0.0.1:8080/health: 503 Service Unavailable' : 'HTTP GET http://10.0.0.1:8080/health: 200 OK',
    ServiceID: `api-${i % 5000}`,
    ServiceName: `api-${i % 50}`,
    ServiceTags: [],
    Type: 'http',
    Definition: {},
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    const up = i % 2 === 0;
    hub.apply(
      [
        {
          kind: 'check',
          node: `node-${i % 500}`,
          id: `service:api-${i % 5000}`,
          before: check(i, up ? 'critical' : 'passing'),
          after: check(i, up ? 'passing' : 'critical'),
        },
      ],
      i + 1,
    );
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  process.stdout.write(JSON.stringify({ events: hub.history.size, heapBytes: after - before, estimate: hub.history.estimatedBytes }) + '\n');
  process.exit(0);
}

console.log(machineLine());
console.log(busyLine());
const chromiumPath = '/usr/bin/chromium';
const services = Number(flags.services);
const rounds = Number(flags.rounds);

// ---- 1: the services view -------------------------------------------------------------------
const beacon = await startBeacon({ args: ['--event-history', '100000'] });
onCleanup(() => void beacon.stop());
const client = pool(beacon.url, 32);
await parallel(services, 32, (i) =>
  putJson(client, '/v1/agent/service/register', {
    Name: `svc-${String(i).padStart(4, '0')}`,
    ID: `svc-${i}`,
    Port: 10_000 + i,
    Tags: [`t${i % 7}`, 'v2'],
    Meta: { team: `team-${i % 13}` },
    Check: { TTL: '30m', CheckID: `ttl:${i}` },
  }),
);
const staticHtml = (() => {
  const rows = [];
  for (let i = 0; i < services; i++)
    rows.push(
      `<tr><td><a href="#">svc-${String(i).padStart(4, '0')}</a></td><td><span class="tag">t${i % 7}</span><span class="tag">v2</span></td><td>1</td><td><span>0</span><span>0</span><span>1</span></td></tr>`,
    );
  return `<!doctype html><html><head><meta charset="utf-8"><title>static</title></head><body><table><tbody>${rows.join('')}</tbody></table><script>window.__rows=document.querySelectorAll('tbody tr').length</script></body></html>`;
})();
const bare = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(staticHtml));
await new Promise((r) => bare.listen(0, '127.0.0.1', r));
onCleanup(() => bare.close());
const staticUrl = `http://127.0.0.1:${bare.address().port}/`;

const profile = mkdtempSync(join(tmpdir(), 'beacon-bench-chromium-'));
onCleanup(() => rmSync(profile, { recursive: true, force: true }));
if (spawnSync(chromiumPath, ['--version']).status !== 0) {
  console.error('bench/ui-events.mjs: Debian chromium is missing: scripts/ensure-tools.sh installs it');
  process.exit(1);
}
const context = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
onCleanup(() => void context.close());
const page = await context.newPage();
const want = services + 1; // and the consul service
const uiTimes = [];
const staticTimes = [];
for (let r = 0; r < rounds + 1; r++) {
  await page.goto(`${beacon.url}/ui/`);
  await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length >= n, want, { timeout: 60_000, polling: 'raf' });
  const ui = await page.evaluate(() => performance.now());
  await page.goto(staticUrl);
  await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length >= n, services, { timeout: 60_000, polling: 'raf' });
  const st = await page.evaluate(() => performance.now());
  if (r > 0) {
    uiTimes.push(ui);
    staticTimes.push(st);
  }
}
printTable(
  `Services view, ${fmtInt(services)} services, every row on screen (ms from navigation, median of ${rounds}; first load not counted)`,
  [
    ['page', 'page'],
    ['median', 'median'],
    ['min', 'min'],
    ['max', 'max'],
    ['vs static', 'ratio'],
  ],
  [
    {
      page: 'Beacon UI /ui/',
      median: fmtMs(median(uiTimes)),
      min: fmtMs(Math.min(...uiTimes)),
      max: fmtMs(Math.max(...uiTimes)),
      ratio: fmtRatio(median(uiTimes) / median(staticTimes)),
    },
    {
      page: 'static HTML table',
      median: fmtMs(median(staticTimes)),
      min: fmtMs(Math.min(...staticTimes)),
      max: fmtMs(Math.max(...staticTimes)),
      ratio: '1.00x',
    },
  ],
);
console.log(`goal: under 1 s: ${median(uiTimes) < 1000 ? 'met' : 'MISSED'}`);
await context.close();

// ---- 2: event stream throughput -------------------------------------------------------------
const F = Number(flags.followers);
const R = Number(flags.registrations);
async function registerRound(prefix) {
  // Names differ by round, so each round registers new instances (events), not updates.
  const t0 = performance.now();
  await parallel(R, 32, (i) =>
    putJson(client, '/v1/agent/service/register', { Name: `${prefix}-${i % 100}`, ID: `${prefix}-${i}`, Port: 20_000 + (i % 10_000) }),
  );
  return performance.now() - t0;
}
const streamRounds = Math.max(1, Math.min(rounds, 3));
const quietRates = [];
const loudRates = [];
const ratios = [];
let delivered = 0;
let eventsPerS = 0;
for (let round = 0; round < streamRounds; round++) {
  // Alternate: the same registrations with no follower, then with F followers reading them.
  const quietMs = await registerRound(`quiet${round}`);
  const since = (await request(`${beacon.url}/v1/catalog/services`)).headers['x-consul-index'];
  const tag = `"loud${round}-`;
  const counts = new Array(F).fill(0);
  const streams = [];
  let lastAt = 0;
  for (let f = 0; f < F; f++) {
    const ac = new AbortController();
    const res = await request(`${beacon.url}/v1/beacon/events?kind=service-registered&since=${since}`, { signal: ac.signal });
    let buf = '';
    res.body.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes(tag)) {
          counts[f]++;
          lastAt = performance.now();
        }
      }
    });
    res.body.on('error', () => undefined);
    streams.push(ac);
  }
  const t0 = performance.now();
  const loudMs = await registerRound(`loud${round}`);
  const until = performance.now() + 120_000;
  while (counts.some((c) => c < R) && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  delivered = counts.reduce((a, b) => a + b, 0);
  eventsPerS = Math.max(eventsPerS, (delivered / (lastAt - t0)) * 1000);
  for (const ac of streams) ac.abort();
  quietRates.push((R / quietMs) * 1000);
  loudRates.push((R / loudMs) * 1000);
  ratios.push(quietMs / loudMs);
}
printTable(
  `Event stream: ${fmtInt(R)} registrations (concurrency 32), ${F} followers on /v1/beacon/events (median of ${streamRounds} alternating rounds)`,
  [
    ['run', 'run'],
    ['registrations/s', 'rps'],
    ['events delivered (last round)', 'delivered'],
    ['events/s to all followers (best round)', 'eps'],
    ['vs no followers', 'ratio'],
  ],
  [
    { run: 'no followers', rps: fmtInt(median(quietRates)), delivered: '-', eps: '-', ratio: '1.00x' },
    {
      run: `${F} followers`,
      rps: fmtInt(median(loudRates)),
      delivered: `${fmtInt(delivered)} of ${fmtInt(R * F)}`,
      eps: fmtInt(eventsPerS),
      ratio: fmtRatio(median(ratios)),
    },
  ],
);
await client.close();
await beacon.stop();

// ---- 3: history memory ----------------------------------------------------------------------
const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child', '--events', flags.events], { encoding: 'utf8' });
if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`);
const mem = JSON.parse(child.stdout.trim());
printTable(
  `History memory, ${fmtInt(mem.events)} check-status events held`,
  [
    ['measure', 'what'],
    ['total', 'total'],
    ['per event', 'per'],
  ],
  [
    { what: 'heap (measured)', total: fmtMB(mem.heapBytes), per: `${fmtInt(mem.heapBytes / mem.events)} B` },
    { what: 'beacon_events_history_bytes (estimate)', total: fmtMB(mem.estimate), per: `${fmtInt(mem.estimate / mem.events)} B` },
  ],
);
process.exit(0);
