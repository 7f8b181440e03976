// A closed-loop HTTP load generator, run as its own process (so it does not share an event
// loop or a core with the server it measures): `connections` loops over one undici Pool, each
// sending its next request only when the previous answer is fully read. It runs for `seconds`
// (after `warmupSeconds` not measured), or until `count` requests were sent.
// Placeholders in the path and body make each request distinct: `{n}` is the request's number,
// `{n/A}` that number divided by A (rounded down), `{n%B}` modulo B, `{n/A%B}` both.
// Input: one JSON argument; output: one JSON line on stdout.
import { Pool } from 'undici';
import { summarize } from './stats.mjs';

const o = JSON.parse(process.argv[2]);
const { origin, connections, seconds = 600, warmupSeconds = 0, count = Infinity, method = 'GET', path, body, headers = {} } = o;
const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
const PLACEHOLDER = /\{n(?:\/(\d+))?(?:%(\d+))?\}/g;
const fill = (s, n) =>
  s === undefined || !s.includes('{n')
    ? s
    : s.replace(PLACEHOLDER, (_, a, b) => {
        let v = n;
        if (a) v = Math.floor(v / Number(a));
        if (b) v %= Number(b);
        return String(v);
      });

const t0 = performance.now();
const measureFrom = t0 + warmupSeconds * 1000;
const measureTo = measureFrom + seconds * 1000;
const latencies = [];
let counter = 0;
let non2xx = 0;
let errors = 0;
let firstError;
let lastEnd = measureFrom;

async function loop() {
  while (counter < count && performance.now() < measureTo) {
    const n = counter++;
    const start = performance.now();
    let status;
    try {
      const res = await pool.request({ method, path: fill(path, n), body: fill(body, n), headers });
      await res.body.arrayBuffer();
      status = res.statusCode;
    } catch (err) {
      firstError ??= err.message;
      errors++;
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    const end = performance.now();
    if (start < measureFrom || end > measureTo) continue;
    lastEnd = Math.max(lastEnd, end);
    if (status >= 200 && status < 300) {
      latencies.push(end - start);
    } else {
      non2xx++;
      firstError ??= `HTTP ${status}`;
    }
  }
}

await Promise.all(Array.from({ length: connections }, loop));
await pool.close();
// A count-bounded run ends before `seconds`: rate over the time it actually took.
const elapsed = (count === Infinity ? seconds * 1000 : lastEnd - measureFrom) / 1000;
const ok = latencies.length;
process.stdout.write(
  `${JSON.stringify({ generator: 'undici', requests: ok, rps: ok / elapsed, seconds: elapsed, non2xx, errors, firstError, sent: counter, ...summarize(latencies) })}\n`,
);
