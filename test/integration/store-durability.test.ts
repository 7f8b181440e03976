/**
 * kill -9 durability of the embedded store: a child process (test/helpers/store-writer.mjs,
 * running the BUILT driver) streams concurrent writes and prints each one as it is
 * acknowledged; we SIGKILL it mid-stream, reopen the data dir here, and check that every
 * acknowledged write is there, and that no txn landed half-way. Several rounds, one data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBeaconError } from '../../src/errors/index.js';
import { EmbeddedStore } from '../../src/store/index.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const WRITER = join(REPO_ROOT, 'test', 'helpers', 'store-writer.mjs');
const DIST_STORE = join(REPO_ROOT, 'dist', 'store', 'index.js');
const ROUNDS = 3;

interface Acks {
  puts: Map<string, { revision: number; value: string }>;
  /** Highest acknowledged seq of each overwritten key. */
  lasts: Map<string, number>;
  txns: Array<[string, string, number]>;
  count: number;
  maxRevision: number;
}

interface Writer {
  proc: ChildProcess;
  acks: Acks;
  stderr(): string;
  /** Resolves once the child has printed `ready` and at least `n` acks. */
  untilAcks(n: number, timeoutMs: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

function startWriter(dataDir: string, round: number): Writer {
  const proc = spawn(process.execPath, [WRITER, dataDir, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const acks: Acks = { puts: new Map(), lasts: new Map(), txns: [], count: 0, maxRevision: 0 };
  let ready = false;
  let partial = '';
  let err = '';
  let notify = (): void => {};
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const [kind, rev, a, b] = line.split(' ');
      const revision = Number(rev);
      if (kind === 'ready') {
        ready = true;
        continue;
      }
      acks.count++;
      acks.maxRevision = Math.max(acks.maxRevision, revision);
      if (kind === 'put') acks.puts.set(a, { revision, value: b });
      else if (kind === 'last') acks.lasts.set(a, Math.max(acks.lasts.get(a) ?? -1, Number(b)));
      else if (kind === 'txn') acks.txns.push([a, b, revision]);
      else throw new Error(`store-writer printed an unexpected line: ${line}`);
    }
    notify();
  });
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      notify();
      res({ code, signal });
    }),
  );
  return {
    proc,
    acks,
    exited,
    stderr: () => err,
    untilAcks: (n, timeoutMs) =>
      new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`store-writer gave ${acks.count} acks in ${timeoutMs} ms, wanted ${n}; stderr: ${err}`)), timeoutMs);
        notify = () => {
          if (proc.exitCode !== null || proc.signalCode !== null) {
            clearTimeout(timer);
            rej(new Error(`store-writer exited early (${proc.exitCode ?? proc.signalCode}); stderr: ${err}`));
          } else if (ready && acks.count >= n) {
            clearTimeout(timer);
            res();
          }
        };
        notify();
      }),
  };
}

describe('embedded store: acknowledged writes survive kill -9', () => {
  let dataDir: string;

  beforeAll(() => {
    if (!existsSync(DIST_STORE)) throw new Error(`${DIST_STORE} is missing: run \`npm run build\` first (npm test does)`);
    dataDir = mkdtempSync(join(tmpdir(), 'beacon-durability-'));
  });

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  for (let round = 1; round <= ROUNDS; round++) {
    it(`round ${round}: every acknowledged write is on disk after SIGKILL`, async () => {
      const w = startWriter(dataDir, round);
      const target = 300 + Math.floor(Math.random() * 900);
      await w.untilAcks(target, 20_000);

      if (round === 1) {
        // The running writer holds the data dir: a second process may not open it.
        const err = await EmbeddedStore.open({ dataDir, lockTimeoutMs: 50 }).catch((e: unknown) => e);
        expect(isBeaconError(err, 'BEACON_ERR_STARTUP')).toBe(true);
        expect((err as Error).message).toContain(dataDir);
      }

      w.proc.kill('SIGKILL');
      const exit = await w.exited;
      expect(exit.signal, `store-writer should die by SIGKILL; stderr: ${w.stderr()}`).toBe('SIGKILL');
      const acks = w.acks;
      expect(acks.count).toBeGreaterThanOrEqual(target);

      const store = await EmbeddedStore.open({ dataDir });
      try {
        expect(await store.currentRevision()).toBeGreaterThanOrEqual(acks.maxRevision);
        for (const [key, ack] of acks.puts) {
          const kv = await store.get(key);
          expect(kv, `acknowledged put of ${key} at revision ${ack.revision} is missing`).toBeDefined();
          expect(kv!.value).toBe(ack.value);
          expect(kv!.modRevision).toBe(ack.revision);
        }
        for (const [key, seq] of acks.lasts) {
          const kv = await store.get(key);
          expect(Number(kv?.value ?? -1), `overwritten key ${key} lost acknowledged seq ${seq}`).toBeGreaterThanOrEqual(seq);
        }
        for (const [a, b, revision] of acks.txns) {
          expect((await store.get(a))?.modRevision).toBe(revision);
          expect((await store.get(b))?.modRevision).toBe(revision);
        }
        // Txns are all-or-nothing, acknowledged or not.
        const keys = new Set((await store.range(`t/${round}/`)).kvs.map((kv) => kv.key));
        for (const key of keys) expect(keys.has(key.replace(/\/(a|b)$/, (_, s: string) => (s === 'a' ? '/b' : '/a')))).toBe(true);
      } finally {
        await store.close();
      }
    });
  }
});
