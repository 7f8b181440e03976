// The etcd side of the write benchmark, run as its own process: `loops` concurrent put loops
// over etcd's v3 JSON gateway (HTTP/1.1 keep-alive through one undici pool, as Beacon is
// driven), each awaiting its put (acknowledged once committed by Raft and fsynced to etcd's
// WAL), distinct keys. Input: one JSON argument; output: one JSON line.
import { Pool } from 'undici';
import { summarize } from './stats.mjs';

const { endpoint, loops, seconds, warmupSeconds = 0, prefix, value } = JSON.parse(process.argv[2]);
const pool = new Pool(`http://${endpoint}`, { connections: loops, pipelining: 1 });
const b64 = (s) => Buffer.from(s).toString('base64');
const client = {
  async put(key, val) {
    const res = await pool.request({ path: '/v3/kv/put', method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(val) }) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`etcd answered ${res.statusCode}: ${text.slice(0, 200)}`);
  },
  close: () => pool.close(),
};
const t0 = performance.now();
const measureFrom = t0 + warmupSeconds * 1000;
const measureTo = measureFrom + seconds * 1000;
const latencies = [];
let n = 0;
let errors = 0;
let firstError;

async function loop() {
  while (performance.now() < measureTo) {
    const i = n++;
    const start = performance.now();
    try {
      await client.put(`${prefix}${i}`, value.replaceAll('{n}', String(i)));
    } catch (err) {
      errors++;
      firstError ??= err.message;
      continue;
    }
    const end = performance.now();
    if (start >= measureFrom && end <= measureTo) latencies.push(end - start);
  }
}

await Promise.all(Array.from({ length: loops }, loop));
await client.close();
process.stdout.write(
  `${JSON.stringify({ generator: 'etcd-json-gateway', requests: latencies.length, rps: latencies.length / seconds, sent: n, errors, firstError, ...summarize(latencies) })}\n`,
);
