import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BeaconError } from '../errors/index.js';
import type { LocalOp, PersistedState } from './local-state.js';
import { LocalState } from './local-state.js';
import { isLocalOp, isPersistedState } from './local-state-shape.js';

/** The snapshot: the whole local state, replaced atomically (temp file, fsync, rename). */
export const SNAPSHOT_FILE = 'local-node.json';
/** Ops since the snapshot, one JSON line each, appended and fsynced in groups. */
export const JOURNAL_FILE = 'local-node.journal';
/**
 * The journal is folded into a new snapshot once it is twice the snapshot's size (and at least
 * this): rewriting the snapshot costs about half a byte per journal byte, and a start replays
 * at most twice the state.
 */
const MIN_COMPACT_BYTES = 4 << 20;
const COMPACT_RATIO = 2;

/** What was on disk: the ops that rebuild it (snapshot first, then the journal). */
export interface LoadedLocalState {
  /** False when neither file exists (a new data dir, or one written by an older Beacon). */
  found: boolean;
  ops: LocalOp[];
  /** An incomplete last journal line (a write cut by a crash) was ignored. */
  tornTail: boolean;
}

function corrupt(path: string, why: string): BeaconError {
  return new BeaconError(
    'BEACON_ERR_STARTUP',
    `this server's local state in ${path} is corrupt (${why}); move it away to start again from the catalog's records`,
  );
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BeaconError('BEACON_ERR_STARTUP', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads the local state of `dir`. A snapshot or a journal line that is not what this server
 * writes fails with BEACON_ERR_STARTUP naming the file: corruption is reported, never
 * silently accepted. Only an incomplete last journal line (a crash mid-write) is skipped.
 */
export async function readLocalState(dir: string): Promise<LoadedLocalState> {
  const snapPath = join(dir, SNAPSHOT_FILE);
  const journalPath = join(dir, JOURNAL_FILE);
  const [snap, journal] = await Promise.all([readIfThere(snapPath), readIfThere(journalPath)]);
  if (snap === undefined && journal === undefined) return { found: false, ops: [], tornTail: false };
  const ops: LocalOp[] = [];
  if (snap !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(snap);
    } catch (err) {
      throw corrupt(snapPath, (err as Error).message);
    }
    if (!isPersistedState(parsed)) throw corrupt(snapPath, 'not a local state snapshot');
    ops.push(...LocalState.opsOf(parsed));
  }
  let tornTail = false;
  if (journal !== undefined && journal !== '') {
    const lines = journal.split('\n');
    // Text after the last newline is a line whose write did not finish.
    tornTail = lines.pop() !== '';
    for (const [i, line] of lines.entries()) {
      let op: unknown;
      try {
        op = JSON.parse(line);
      } catch (err) {
        throw corrupt(journalPath, `line ${i + 1}: ${(err as Error).message}`);
      }
      if (!isLocalOp(op)) throw corrupt(journalPath, `line ${i + 1}: not a local state change`);
      ops.push(op);
    }
  }
  return { found: true, ops, tornTail };
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** Replaces `dir/name` with `data` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(dir: string, name: string, data: string): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await writeAll(fh, Buffer.from(data));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * The local state on disk: a snapshot and a journal of ops since. `append` resolves once its
 * ops are durable; appends made while a write is in flight share the next fsync (group commit),
 * so each registration costs a line, not a rewrite of every entry. When the journal outgrows
 * the snapshot (twice its size), the next flush writes a fresh snapshot (from the in-memory state, which
 * already holds every queued op) and empties the journal. A failed write makes the next flush
 * a snapshot, so a partial line never stays in the middle of the journal.
 */
export class LocalStateFile {
  private queue: string[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private needsSnapshot = false;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly journal: FileHandle,
    private readonly snapshot: () => PersistedState,
    private readonly minCompactBytes: number,
  ) {}

  /**
   * Opens the files of `dir` and writes a snapshot of `snapshot()` at once (dropping a torn
   * tail). `minCompactBytes`: the smallest journal folded into a snapshot (default 4 MiB).
   */
  static async open(dir: string, snapshot: () => PersistedState, opts: { minCompactBytes?: number } = {}): Promise<LocalStateFile> {
    let journal: FileHandle;
    try {
      journal = await open(join(dir, JOURNAL_FILE), 'a', 0o600);
    } catch (err) {
      throw new BeaconError('BEACON_ERR_STARTUP', `cannot open ${join(dir, JOURNAL_FILE)}: ${(err as Error).message}`, { cause: err });
    }
    const f = new LocalStateFile(dir, journal, snapshot, opts.minCompactBytes ?? MIN_COMPACT_BYTES);
    try {
      await f.writeSnapshot();
    } catch (err) {
      await journal.close().catch(() => undefined);
      throw new BeaconError('BEACON_ERR_STARTUP', `cannot write ${join(dir, SNAPSHOT_FILE)}: ${(err as Error).message}`, { cause: err });
    }
    return f;
  }

  /** Resolves once `ops` are on disk (or rejects with BEACON_ERR_STORE_UNAVAILABLE). */
  append(ops: readonly LocalOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new BeaconError('BEACON_ERR_SHUTTING_DOWN', 'Server is shutting down'));
    for (const o of ops) this.queue.push(`${JSON.stringify(o)}\n`);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.kick();
    return done;
  }

  /** Writes what is queued and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await this.journal.close().catch(() => undefined);
  }

  private kick(): void {
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const lines = this.queue;
      const waiters = this.waiters;
      this.queue = [];
      this.waiters = [];
      try {
        if (this.needsSnapshot || this.journalBytes > Math.max(this.minCompactBytes, COMPACT_RATIO * this.snapshotBytes)) {
          // The in-memory state already holds every queued op: the snapshot covers them all.
          await this.writeSnapshot();
        } else {
          const buf = Buffer.from(lines.join(''));
          await writeAll(this.journal, buf);
          await this.journal.datasync();
          this.journalBytes += buf.length;
        }
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.needsSnapshot = true;
        const e = new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', `cannot save this server's local state in ${this.dir}: ${(err as Error).message}`, {
          cause: err,
        });
        for (const w of waiters) w.reject(e);
      }
    }
  }

  private async writeSnapshot(): Promise<void> {
    const data = JSON.stringify(this.snapshot());
    await writeFileAtomic(this.dir, SNAPSHOT_FILE, data);
    // Ops still in the journal are in the snapshot too; replaying them again changes nothing.
    await this.journal.truncate(0);
    await this.journal.datasync();
    this.journalBytes = 0;
    this.snapshotBytes = data.length;
    this.needsSnapshot = false;
  }
}
