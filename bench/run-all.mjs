// Runs the benchmarks one after another: every bench/*.mjs (this file aside; helpers live in
// bench/lib and in sub-folders), or those whose names start with the given prefixes.
//
// Usage: npm run build && node bench/run-all.mjs [prefix ...] [--list] [--timeout SECONDS]
//   node bench/run-all.mjs               every benchmark
//   node bench/run-all.mjs server        bench/server-*.mjs
//   node bench/run-all.mjs dns store     bench/dns-*.mjs and bench/store-*.mjs
//   node bench/run-all.mjs cluster       bench/cluster-etcd.mjs (Beacon servers on a 3-member etcd)
// Each runs as its own process with a time limit (default 300 s); a summary follows, and the
// exit code is non-zero if any failed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { list: { type: 'boolean', default: false }, timeout: { type: 'string', default: process.env.BENCH_TIMEOUT_S ?? '300' } },
});
const dir = fileURLToPath(new URL('.', import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== self && !f.startsWith('_'))
  .sort();
const chosen = positionals.length === 0 ? all : all.filter((f) => positionals.some((p) => f.startsWith(p)));

if (flags.list || chosen.length === 0) {
  if (chosen.length === 0) console.error(`no benchmark matches ${positionals.join(', ')}; there are:`);
  for (const f of all) console.log(`  bench/${f}`);
  process.exit(chosen.length === 0 ? 1 : 0);
}
if (!existsSync(new URL('../dist/cli/index.js', import.meta.url))) {
  console.error('bench/run-all.mjs: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const timeoutMs = Number(flags.timeout) * 1000;
let current;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    // The running bench cleans up its own children and temp dirs on SIGTERM.
    current?.kill('SIGTERM');
    setTimeout(() => process.exit(130), 3000).unref();
  });
}

function run(file) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [`${dir}${file}`], { stdio: 'inherit' });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ file, code, signal, timedOut, seconds: (performance.now() - started) / 1000 });
    });
  });
}

const results = [];
for (const file of chosen) {
  console.log(`\n=== bench/${file} ${'='.repeat(Math.max(3, 60 - file.length))}`);
  results.push(await run(file));
}

console.log('\n=== summary');
for (const r of results) {
  const status = r.timedOut ? `timed out after ${flags.timeout} s` : r.code === 0 ? 'ok' : `failed (${r.code ?? r.signal})`;
  console.log(`  ${r.file.padEnd(28)} ${r.seconds.toFixed(1).padStart(6)} s  ${status}`);
}
process.exit(results.every((r) => r.code === 0 && !r.timedOut) ? 0 : 1);
