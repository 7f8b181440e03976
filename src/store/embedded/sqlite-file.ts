/**
 * The durability layer of the embedded store: one SQLite database in WAL mode, held with an
 * exclusive lock, written one transaction per group commit. It holds the only copy of every
 * committed value: the in-memory key space keeps keys and metadata, and value reads (`get`,
 * `range`, txn value compares, the previous value of a key a write replaces) come from here,
 * each checked against the checksum stored with its row. At open only keys and metadata are
 * read, after the start-up checks (open-checks.ts).
 */
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BeaconError } from '../../errors/index.js';
import type { StoreLogger } from '../logger.js';
import type { KeyValue } from '../types.js';
import { AckFile } from './ack-file.js';
import { checkDataFile, checkOpenDatabase, finishRecovery, type Checked } from './open-checks.js';
import { createSchema, valueProblem, valueSum } from './schema.js';
import { isCorruptionCode } from './startup-check.js';

/** File name of the database inside the data directory. */
export const DB_FILE = 'beacon.db';
/** The write-ahead log is cut back to this size after a checkpoint. */
const WAL_SIZE_LIMIT = 8 * 1024 * 1024;
/** SQLite page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 2048;

export interface LoadedState {
  revision: number;
  compacted: number;
  nextLeaseId: number;
  leases: Array<{ id: string; ttl: number }>;
}

/**
 * `mkdir -p`, one level at a time. Node 20's `mkdirSync(p, { recursive: true })` spins forever
 * at full CPU when the kernel answers ENOENT for a parent that exists (e.g. below /proc), which
 * would hang `beacon server --data-dir /proc/x` instead of failing with a one-line reason.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  while (statSync(p, { throwIfNoEntry: false }) === undefined) {
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (!statSync(resolve(dir)).isDirectory()) throw new Error(`ENOTDIR: not a directory, '${dir}'`);
}

/** A key's row without its value, as streamed at open. */
export type KeyRow = [key: string, createRevision: number, modRevision: number, version: number, lease: string];

export interface CommitMeta {
  revision: number;
  compacted: number;
  nextLeaseId: number;
}

export interface SqliteOpenOptions {
  /** How long to wait for another process's lock. */
  lockTimeoutMs: number;
  /** Start with what is readable when the checks find damage (`beacon server --recover`). */
  recover?: boolean;
  logger: StoreLogger;
}

interface Statements {
  upsertKv: Database.Statement;
  deleteKv: Database.Statement;
  upsertLease: Database.Statement;
  deleteLease: Database.Statement;
  updateMeta: Database.Statement;
  value: Database.Statement<[string], [unknown, unknown]>;
  rangeFrom: Database.Statement<[string], [string, unknown, number, number, number, string, unknown]>;
}

export class SqliteFile {
  readonly path: string;
  /** What the start-up checks found and took (for the open log line). */
  readonly checked: Checked;
  private readonly db: Database.Database;
  private readonly ack: AckFile;
  private readonly stmts: Statements;
  private readonly commitTx: (kvs: ReadonlyMap<string, KeyValue | null>, leases: ReadonlyMap<string, number | null>, meta: CommitMeta) => void;

  private constructor(path: string, db: Database.Database, ack: AckFile, checked: Checked) {
    this.path = path;
    this.db = db;
    this.ack = ack;
    this.checked = checked;
    this.stmts = {
      upsertKv: db.prepare(
        `INSERT INTO kv (key, value, create_rev, mod_rev, version, lease, sum) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, create_rev = excluded.create_rev,
           mod_rev = excluded.mod_rev, version = excluded.version, lease = excluded.lease, sum = excluded.sum`,
      ),
      deleteKv: db.prepare('DELETE FROM kv WHERE key = ?'),
      upsertLease: db.prepare('INSERT OR REPLACE INTO leases (id, ttl) VALUES (?, ?)'),
      deleteLease: db.prepare('DELETE FROM leases WHERE id = ?'),
      updateMeta: db.prepare('UPDATE meta SET revision = ?, compacted = ?, next_lease = ? WHERE id = 1'),
      value: db.prepare<[string], [unknown, unknown]>('SELECT value, sum FROM kv WHERE key = ?').raw(),
      // Keys sharing a prefix are contiguous from the prefix on in SQLite's (UTF-8 byte) order.
      rangeFrom: db
        .prepare<[string], [string, unknown, number, number, number, string, unknown]>(
          'SELECT key, value, create_rev, mod_rev, version, lease, sum FROM kv WHERE key >= ? ORDER BY key',
        )
        .raw(),
    };
    const s = this.stmts;
    this.commitTx = db.transaction((kvs: ReadonlyMap<string, KeyValue | null>, leases: ReadonlyMap<string, number | null>, meta: CommitMeta) => {
      for (const [key, kv] of kvs) {
        if (kv === null) s.deleteKv.run(key);
        else s.upsertKv.run(key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease, valueSum(key, kv.value));
      }
      for (const [id, ttl] of leases) {
        if (ttl === null) s.deleteLease.run(id);
        else s.upsertLease.run(id, ttl);
      }
      s.updateMeta.run(meta.revision, meta.compacted, meta.nextLeaseId);
    });
  }

  /**
   * Opens (creating if needed) `<dataDir>/beacon.db` and takes its exclusive lock, after the
   * start-up checks. Throws BEACON_ERR_STARTUP with a one-line message naming the path when it
   * cannot, and BEACON_ERR_STORE_CORRUPT when the checks find damage and `recover` is off.
   */
  static open(dataDir: string, opts: SqliteOpenOptions): SqliteFile {
    try {
      makeDirs(dataDir);
    } catch (err) {
      throw new BeaconError('BEACON_ERR_STARTUP', `cannot create the data directory ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    const path = join(dataDir, DB_FILE);
    let checked: Checked;
    try {
      checked = checkDataFile(path, opts.lockTimeoutMs, opts.recover === true, opts.logger);
    } catch (err) {
      throw startupError(path, err);
    }
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: opts.lockTimeoutMs });
    } catch (err) {
      throw new BeaconError('BEACON_ERR_STARTUP', `cannot open the store database ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      // Exclusive locking before WAL: the WAL index lives in process memory (no -shm file) and
      // the first write below takes a lock that is held until close, so a second server
      // pointed at the same directory fails fast instead of corrupting it.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
      // Reads of values are few at run time (a listing at start-up and on re-list, the previous
      // value of a replaced key), so a small page cache does: missing pages come from the OS
      // cache. 32 MiB cost ~30 MB of RSS at 100,000 instances (bench/server-scale.mjs) for no
      // measurable write speed.
      db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
      db.exec('BEGIN EXCLUSIVE');
      if (checked.deferred !== undefined) checked = checkOpenDatabase(db, path, checked, opts.recover === true, opts.logger);
      createSchema(db);
      const revision =
        opts.recover === true ? finishRecovery(db, checked, opts.logger) : (db.prepare('SELECT revision FROM meta WHERE id = 1').pluck().get() as number);
      db.exec('COMMIT');
      return new SqliteFile(path, db, AckFile.open(dataDir, revision, opts.logger), checked);
    } catch (err) {
      db.close();
      throw startupError(path, err);
    }
  }

  /** Reads the meta row and the leases (done once, at open). */
  load(): LoadedState {
    const meta = this.db.prepare('SELECT revision, compacted, next_lease FROM meta WHERE id = 1').get() as
      { revision: number; compacted: number; next_lease: number } | undefined;
    if (meta === undefined) throw new BeaconError('BEACON_ERR_STARTUP', `the store database ${this.path} has no meta row; it is not a Beacon store`);
    const leases = this.db.prepare('SELECT id, ttl FROM leases').all() as Array<{ id: string; ttl: number }>;
    return { revision: meta.revision, compacted: meta.compacted, nextLeaseId: meta.next_lease, leases };
  }

  /** Every key with its metadata but not its value, streamed (done once, at open). */
  keys(): IterableIterator<KeyRow> {
    return this.db.prepare('SELECT key, create_rev, mod_rev, version, lease FROM kv').raw().iterate() as IterableIterator<KeyRow>;
  }

  /**
   * The committed value of `key`, or undefined if it has no row. Throws BEACON_ERR_STORE_CORRUPT
   * naming the key and file when the stored value does not match its checksum.
   */
  value(key: string): string | undefined {
    let row: [unknown, unknown] | undefined;
    try {
      row = this.stmts.value.get(key);
    } catch (err) {
      throw this.readError(err, key);
    }
    if (row === undefined) return undefined;
    const problem = valueProblem(key, row[0], row[1]);
    if (problem !== undefined) throw this.damagedKey(key, problem);
    return row[0] as string;
  }

  /**
   * Committed rows of keys starting with `prefix`, streamed from the database in its key order
   * (UTF-8 bytes); `fn` gets each row. A damaged value throws as {@link value} does.
   */
  forEachWithPrefix(prefix: string, fn: (kv: KeyValue) => void): void {
    try {
      for (const [key, value, createRevision, modRevision, version, lease, sum] of this.stmts.rangeFrom.iterate(prefix)) {
        if (!key.startsWith(prefix)) break;
        const problem = valueProblem(key, value, sum);
        if (problem !== undefined) throw this.damagedKey(key, problem);
        fn({ key, value: value as string, createRevision, modRevision, version, lease });
      }
    } catch (err) {
      throw this.readError(err);
    }
  }

  /** The error for a key whose row is damaged on disk. */
  damagedKey(key: string, problem: string): BeaconError {
    return new BeaconError(
      'BEACON_ERR_STORE_CORRUPT',
      `data file ${this.path}: key ${JSON.stringify(key)} is damaged (${problem}); start with --recover to drop it and continue`,
    );
  }

  /** A read failure: SQLite finding a damaged page is BEACON_ERR_STORE_CORRUPT; other errors pass through. */
  private readError(err: unknown, key?: string): unknown {
    if (err instanceof BeaconError || !isCorruptionCode((err as { code?: unknown }).code)) return err;
    const where = key === undefined ? '' : ` reading key ${JSON.stringify(key)}`;
    return new BeaconError(
      'BEACON_ERR_STORE_CORRUPT',
      `data file ${this.path}: SQLite found damage${where} (${(err as Error).message}); start with --recover to continue with what is readable`,
      { cause: err },
    );
  }

  /**
   * Writes the final state of every changed key and lease (null = deleted) and the meta row in
   * one transaction; returns once it is fsynced. Throws the SQLite error on failure.
   */
  commit(kvs: ReadonlyMap<string, KeyValue | null>, leases: ReadonlyMap<string, number | null>, meta: CommitMeta): void {
    this.commitTx(kvs, leases, meta);
    this.ack.record(meta.revision);
  }

  /** Copies the WAL into the database; `truncate` also cuts the WAL file to zero bytes. */
  checkpoint(truncate: boolean): void {
    this.db.pragma(`wal_checkpoint(${truncate ? 'TRUNCATE' : 'PASSIVE'})`);
    this.ack.flush();
  }

  /** Bytes on disk: database plus write-ahead log. */
  diskBytes(): number {
    return fileSize(this.path) + fileSize(`${this.path}-wal`);
  }

  close(): void {
    this.ack.close();
    if (this.db.open) this.db.close();
  }
}

function startupError(path: string, err: unknown): BeaconError {
  if (err instanceof BeaconError) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new BeaconError(
      'BEACON_ERR_STARTUP',
      `the store database ${path} is locked by another process (is another Beacon server using this data directory?)`,
      { cause: err },
    );
  }
  if (isCorruptionCode(e.code)) {
    return new BeaconError('BEACON_ERR_STARTUP', `the store database ${path} is not a valid SQLite database: ${e.message ?? String(err)}`, { cause: err });
  }
  return new BeaconError('BEACON_ERR_STARTUP', `cannot open the store database ${path}: ${e.message ?? String(err)}`, { cause: err });
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
