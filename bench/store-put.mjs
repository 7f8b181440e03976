// Durable puts per second on the embedded store: 64 concurrent writers, each awaiting its put
// (resolved only after fsync). Usage: npm run build && node bench/store-put.mjs [seconds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const distIndex = new URL('../dist/store/index.js', import.meta.url);
const { openStore, storeCounters } = await import(distIndex.href).catch(() => {
  console.error('bench/store-put.mjs: dist/store/index.js is missing; run `npm run build` first');
  process.exit(1);
});

const WRITERS = 64;
const KEYS_PER_WRITER = 200;
const seconds = Number(process.argv[2] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'beacon-bench-store-'));
const store = await openStore('embedded', { dataDir: dir });
// A catalog-sized record, written as-is (the store never re-encodes values).
const value = JSON.stringify({
  ID: 'web-1',
  Service: 'web',
  Tags: ['v2', 'primary'],
  Address: '10.0.0.1',
  Port: 8080,
  Meta: { zone: 'a' },
  Weights: { Passing: 1, Warning: 1 },
});

let puts = 0;
const deadline = performance.now() + seconds * 1000;
const started = performance.now();
await Promise.all(
  Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 0; performance.now() < deadline; i++) {
      await store.put(`bench/${w}/${i % KEYS_PER_WRITER}`, value);
      puts++;
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
const c = storeCounters(store);
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  `store-put: ${Math.round(puts / elapsed)} durable puts/s (${WRITERS} writers, ${puts} puts, ${c.commits} commits, ${(puts / c.commits).toFixed(1)} puts/commit)`,
);
