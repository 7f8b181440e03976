// Child process for test/integration/store-durability.test.ts: opens the BUILT embedded store
// (dist/store/index.js) in a data dir and writes as fast as it can with many concurrent
// writers, printing one line per acknowledged (durable) write, until it is killed.
//
//   node test/helpers/store-writer.mjs <dataDir> <round> [writers]
//
// Lines on stdout (stdout to a pipe is synchronous on Linux, so a printed ack was acked):
//   ready <revision>
//   put <revision> <key> <value>        a unique key, written once
//   last <revision> <key> <seq>         an overwritten key: its value is now at least <seq>
//   txn <revision> <keyA> <keyB>        two keys created in one txn
import { existsSync } from 'node:fs';

const [dataDir, round, writersArg] = process.argv.slice(2);
if (!dataDir || !round) {
  process.stderr.write('usage: store-writer.mjs <dataDir> <round> [writers]\n');
  process.exit(2);
}
const dist = new URL('../../dist/store/index.js', import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write(`store-writer: ${dist.pathname} is missing; run \`npm run build\` first\n`);
  process.exit(3);
}
const { openStore } = await import(dist.href);
const store = await openStore('embedded', { dataDir });
const out = (line) => process.stdout.write(`${line}\n`);
out(`ready ${await store.currentRevision()}`);

const writers = Number(writersArg ?? 48);
const pad = 'p'.repeat(200);

async function writer(w) {
  for (let seq = 0; ; seq++) {
    const kind = seq % 10;
    if (kind === 0) {
      const a = `t/${round}/${w}/${seq}/a`;
      const b = `t/${round}/${w}/${seq}/b`;
      const r = await store.txn([{ key: a, target: 'version', op: '==', value: 0 }], [
        { type: 'put', key: a, value: 'A' },
        { type: 'put', key: b, value: 'B' },
      ]);
      out(`txn ${r.revision} ${a} ${b}`);
    } else if (kind < 4) {
      const key = `last/${round}/${w}`;
      const r = await store.put(key, String(seq));
      out(`last ${r.revision} ${key} ${seq}`);
    } else {
      const key = `u/${round}/${w}/${seq}`;
      const value = `${round}.${w}.${seq}.${pad}`;
      const r = await store.put(key, value);
      out(`put ${r.revision} ${key} ${value}`);
    }
  }
}

await Promise.all(Array.from({ length: writers }, (_, w) => writer(w))).catch((err) => {
  process.stderr.write(`store-writer: ${err?.stack ?? err}\n`);
  process.exit(1);
});
