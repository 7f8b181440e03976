/**
 * The durability layer of the embedded store: one SQLite database in WAL mode, held with an
 * exclusive lock, written one transaction per group commit. It holds the only copy of every
 * committed value: the in-memory key space keeps keys and metadata, and value reads (`get`,
 * `range`, txn value compares, the previous value of a key a write replaces) come from here.
 * At open only keys and metadata are read.
 */
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BeaconError } from '../../errors/index.js';
import type { KeyValue } from '../types.js';

/** File name of the database inside the data directory. */
export const DB_FILE = 'beacon.db';
const SCHEMA_VERSION = 1;
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

interface Statements {
  upsertKv: Database.Statement;
  deleteKv: Database.Statement;
  upsertLease: Database.Statement;
  deleteLease: Database.Statement;
  updateMeta: Database.Statement;
  value: Database.Statement<[string], string>;
  rangeFrom: Database.Statement<[string], [string, string, number, number, number, string]>;
}

export class SqliteFile {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmts: Statements;
  private readonly commitTx: (kvs: Map<string, KeyValue | null>, leases: Map<string, number | null>, meta: CommitMeta) => void;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
    this.stmts = {
      upsertKv: db.prepare(
        `INSERT INTO kv (key, value, create_rev, mod_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, create_rev = excluded.create_rev,
           mod_rev = excluded.mod_rev, version = excluded.version, lease = excluded.lease`,
      ),
      deleteKv: db.prepare('DELETE FROM kv WHERE key = ?'),
      upsertLease: db.prepare('INSERT OR REPLACE INTO leases (id, ttl) VALUES (?, ?)'),
      deleteLease: db.prepare('DELETE FROM leases WHERE id = ?'),
      updateMeta: db.prepare('UPDATE meta SET revision = ?, compacted = ?, next_lease = ? WHERE id = 1'),
      value: db.prepare<[string], string>('SELECT value FROM kv WHERE key = ?').pluck(),
      // Keys sharing a prefix are contiguous from the prefix on in SQLite's (UTF-8 byte) order.
      rangeFrom: db
        .prepare<[string], [string, string, number, number, number, string]>('SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key >= ? ORDER BY key')
        .raw(),
    };
    const s = this.stmts;
    this.commitTx = db.transaction((kvs: Map<string, KeyValue | null>, leases: Map<string, number | null>, meta: CommitMeta) => {
      for (const [key, kv] of kvs) {
        if (kv === null) s.deleteKv.run(key);
        else s.upsertKv.run(key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease);
      }
      for (const [id, ttl] of leases) {
        if (ttl === null) s.deleteLease.run(id);
        else s.upsertLease.run(id, ttl);
      }
      s.updateMeta.run(meta.revision, meta.compacted, meta.nextLeaseId);
    });
  }

  /**
   * Opens (creating if needed) `<dataDir>/beacon.db` and takes its exclusive lock.
   * Throws BEACON_ERR_STARTUP with a one-line message naming the path on any failure.
   */
  static open(dataDir: string, lockTimeoutMs: number): SqliteFile {
    try {
      makeDirs(dataDir);
    } catch (err) {
      throw new BeaconError('BEACON_ERR_STARTUP', `cannot create the data directory ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    const path = join(dataDir, DB_FILE);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: lockTimeoutMs });
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
      createSchema(db);
      db.exec('COMMIT');
      return new SqliteFile(path, db);
    } catch (err) {
      db.close();
      throw startupError(path, err);
    }
  }

  /** Reads the meta row and the leases (done once, at open). */
  load(): LoadedState {
    const meta = this.db.prepare('SELECT revision, compacted, next_lease FROM meta WHERE id = 1').get() as
      | { revision: number; compacted: number; next_lease: number }
      | undefined;
    if (meta === undefined) throw new BeaconError('BEACON_ERR_STARTUP', `the store database ${this.path} has no meta row; it is not a Beacon store`);
    const leases = this.db.prepare('SELECT id, ttl FROM leases').all() as Array<{ id: string; ttl: number }>;
    return { revision: meta.revision, compacted: meta.compacted, nextLeaseId: meta.next_lease, leases };
  }

  /** Every key with its metadata but not its value, streamed (done once, at open). */
  keys(): IterableIterator<KeyRow> {
    return this.db.prepare('SELECT key, create_rev, mod_rev, version, lease FROM kv').raw().iterate() as IterableIterator<KeyRow>;
  }

  /** The committed value of `key`, or undefined if it has no row. */
  value(key: string): string | undefined {
    return this.stmts.value.get(key);
  }

  /**
   * Committed rows of keys starting with `prefix`, streamed from the database in its key order
   * (UTF-8 bytes); `fn` gets each row.
   */
  forEachWithPrefix(prefix: string, fn: (kv: KeyValue) => void): void {
    for (const [key, value, createRevision, modRevision, version, lease] of this.stmts.rangeFrom.iterate(prefix)) {
      if (!key.startsWith(prefix)) break;
      fn({ key, value, createRevision, modRevision, version, lease });
    }
  }

  /**
   * Writes the final state of every changed key and lease (null = deleted) and the meta row in
   * one transaction; returns once it is fsynced. Throws the SQLite error on failure.
   */
  commit(kvs: Map<string, KeyValue | null>, leases: Map<string, number | null>, meta: CommitMeta): void {
    this.commitTx(kvs, leases, meta);
  }

  /** Copies the WAL into the database; `truncate` also cuts the WAL file to zero bytes. */
  checkpoint(truncate: boolean): void {
    this.db.pragma(`wal_checkpoint(${truncate ? 'TRUNCATE' : 'PASSIVE'})`);
  }

  /** Bytes on disk: database plus write-ahead log. */
  diskBytes(): number {
    return fileSize(this.path) + fileSize(`${this.path}-wal`);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function createSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`its schema version ${version} is newer than this build understands (${SCHEMA_VERSION})`);
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS kv (
      key TEXT PRIMARY KEY NOT NULL,
      value TEXT NOT NULL,
      create_rev INTEGER NOT NULL,
      mod_rev INTEGER NOT NULL,
      version INTEGER NOT NULL,
      lease TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY NOT NULL, ttl INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS meta (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      revision INTEGER NOT NULL,
      compacted INTEGER NOT NULL,
      next_lease INTEGER NOT NULL
    );
  `);
  // A fresh store starts at revision 1, like a fresh etcd cluster. Lease ids count up from
  // unix-seconds x 1,000,000, so a wiped data dir does not hand out ids an old client may still hold.
  db.prepare('INSERT OR IGNORE INTO meta (id, revision, compacted, next_lease) VALUES (1, 1, 0, ?)').run(Math.floor(Date.now() / 1000) * 1_000_000);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

function startupError(path: string, err: unknown): BeaconError {
  if (err instanceof BeaconError) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new BeaconError('BEACON_ERR_STARTUP', `the store database ${path} is locked by another process (is another Beacon server using this data directory?)`, { cause: err });
  }
  if (e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT') {
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
