// The etcd side of the write benchmark, run as its own process: `loops` concurrent put loops
// through one etcd3 client, each awaiting its put (acknowledged once committed by Raft and
// fsynced to etcd's WAL), distinct keys. Input: one JSON argument; output: one JSON line.
import { Etcd3 } from 'etcd3';
import { summarize } from './stats.mjs';

const { endpoint, loops, seconds, warmupSeconds = 0, prefix, value } = JSON.parse(process.argv[2]);
const client = new Etcd3({ hosts: `http://${endpoint}` });
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
      await client.put(`${prefix}${i}`).value(value.replaceAll('{n}', String(i)));
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
client.close();
process.stdout.write(`${JSON.stringify({ generator: 'etcd3', requests: latencies.length, rps: latencies.length / seconds, sent: n, errors, firstError, ...summarize(latencies) })}\n`);
