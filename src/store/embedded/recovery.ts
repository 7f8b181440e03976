/**
 * `beacon server --recover`: start with what is readable, and say what was lost.
 *
 * Before the database is opened for writing (`setAside`):
 * - a write-ahead log that drops transactions is copied aside first (SQLite replays the part
 *   before the break and would then checkpoint over the rest);
 * - a database SQLite cannot read, or one that is missing or empty while revisions were
 *   acknowledged, is moved aside with its log, and the store starts empty;
 * - a database that fails SQLite's integrity check is copied row by row into a new file (rows
 *   on damaged pages are lost), and the damaged one is moved aside.
 * After it is open (`dropDamagedRows`, `settleRevision`): rows whose metadata is impossible or
 * whose value does not match its checksum are deleted, and the revision is moved up to the last
 * acknowledged one so that no revision number is handed out twice.
 *
 * Nothing is deleted: what is set aside keeps its name with `.damaged-<unix-ms>` appended.
 */
import Database from 'better-sqlite3';
import { copyFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StoreLogger } from '../logger.js';
import { syncDir } from './ack-file.js';
import { createSchema, rowProblem, valueProblem, valueSum } from './schema.js';
import type { Damage, DataFileReport } from './startup-check.js';

/** Rows read per query while salvaging; a query that fails is split until single rows fail. */
const SALVAGE_CHUNK = 512;
/** Keys listed by name in the recovery log; the rest are counted. */
const KEYS_LOGGED = 100;

export interface Salvage {
  rows: number;
  lost: number;
}

const exists = (p: string): boolean => statSync(p, { throwIfNoEntry: false }) !== undefined;

/** Moves `path` aside as `<path>.damaged-<stamp>`, if it exists; returns the new name. */
function moveAside(path: string, stamp: number): string | undefined {
  if (!exists(path)) return undefined;
  const to = `${path}.damaged-${stamp}`;
  renameSync(path, to);
  return to;
}

/**
 * Prepares the data file for opening after damage was found; returns what it set aside, for
 * the log. Throws on an I/O error.
 */
export function setAside(report: DataFileReport, damage: Damage, logger: StoreLogger): { kept: string[]; salvage?: Salvage } {
  const { path } = report;
  const stamp = Date.now();
  const kept: string[] = [];
  const note = (p: string | undefined): void => {
    if (p !== undefined) kept.push(p);
  };
  if (damage.noData) {
    note(moveAside(path, stamp));
    note(moveAside(`${path}-wal`, stamp));
  } else if (damage.integrityFailed) {
    const salvage = salvageRows(path, logger);
    note(moveAside(path, stamp));
    note(moveAside(`${path}-wal`, stamp));
    renameSync(`${path}.salvage`, path);
    syncDir(dirname(path));
    return { kept, salvage };
  } else if (damage.walBroken) {
    const to = `${path}-wal.damaged-${stamp}`;
    copyFileSync(`${path}-wal`, to);
    kept.push(to);
  }
  if (kept.length > 0) syncDir(dirname(path));
  return { kept };
}

/**
 * Copies every row that can still be read from the damaged database at `path` into a new
 * database `<path>.salvage`. Rows are read by rowid range; a range that fails is halved until
 * single rows fail, and those are lost.
 */
function salvageRows(path: string, logger: StoreLogger): Salvage {
  const target = `${path}.salvage`;
  rmSync(target, { force: true });
  rmSync(`${target}-journal`, { force: true });
  const hadShm = exists(`${path}-shm`);
  const src = new Database(path, { readonly: true, fileMustExist: true });
  const dst = new Database(target);
  const out = { rows: 0, lost: 0 };
  try {
    createSchema(dst);
    const meta = tryRead(
      () => src.prepare('SELECT revision, compacted, next_lease FROM meta WHERE id = 1').raw().get() as [number, number, number] | undefined,
    );
    const leases = tryRead(() => src.prepare('SELECT id, ttl FROM leases').raw().all() as Array<[string, number]>) ?? [];
    const revision = typeof meta?.[0] === 'number' ? meta[0] : Number.MAX_SAFE_INTEGER;
    const insert = dst.prepare('INSERT OR IGNORE INTO kv (key, value, create_rev, mod_rev, version, lease, sum) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const readRange = src.prepare('SELECT key, value, create_rev, mod_rev, version, lease, sum FROM kv WHERE rowid BETWEEN ? AND ?').raw();
    const keep = (row: unknown[]): void => {
      const [key, value, createRev, modRev, version, lease, sum] = row;
      if (rowProblem(key, createRev, modRev, version, lease, revision) !== undefined || valueProblem(key as string, value, sum) !== undefined) {
        out.lost++;
        return;
      }
      insert.run(key, value, createRev, modRev, version, lease, valueSum(key as string, value as string));
      out.rows++;
    };
    const copy = (lo: number, hi: number): void => {
      let rows: unknown[][];
      try {
        rows = readRange.all(lo, hi) as unknown[][];
      } catch {
        if (lo === hi) {
          out.lost++;
          return;
        }
        const mid = Math.floor((lo + hi) / 2);
        copy(lo, mid);
        copy(mid + 1, hi);
        return;
      }
      for (const row of rows) keep(row);
    };
    const maxRowid = tryRead(() => src.prepare('SELECT max(rowid) FROM kv').pluck().get() as number | null) ?? 0;
    dst.transaction(() => {
      for (let lo = 1; lo <= maxRowid; lo += SALVAGE_CHUNK) copy(lo, Math.min(maxRowid, lo + SALVAGE_CHUNK - 1));
      const putLease = dst.prepare('INSERT OR IGNORE INTO leases (id, ttl) VALUES (?, ?)');
      for (const [id, ttl] of leases) putLease.run(id, ttl);
      const maxMod = (dst.prepare('SELECT max(mod_rev) FROM kv').pluck().get() as number | null) ?? 1;
      dst
        .prepare('UPDATE meta SET revision = ?, compacted = ?, next_lease = max(next_lease, ?) WHERE id = 1')
        .run(Math.max(maxMod, typeof meta?.[0] === 'number' ? meta[0] : 1), 0, typeof meta?.[2] === 'number' ? meta[2] : 0);
    })();
    if (meta === undefined) logger.error({ path }, 'store recovery: the meta row is unreadable; the revision restarts from the newest row');
  } finally {
    src.close();
    dst.close();
    if (!hadShm) rmSync(`${path}-shm`, { force: true });
  }
  return out;
}

function tryRead<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/**
 * Deletes the rows whose metadata is impossible or whose value does not match its checksum
 * (reading every value once); returns their keys.
 */
export function dropDamagedRows(db: Database.Database): string[] {
  const revision = db.prepare('SELECT revision FROM meta WHERE id = 1').pluck().get() as number;
  const bad: Array<{ rowid: number; key: string }> = [];
  const rows = db.prepare('SELECT rowid, key, value, create_rev, mod_rev, version, lease, sum FROM kv').raw().iterate() as IterableIterator<unknown[]>;
  for (const [rowid, key, value, createRev, modRev, version, lease, sum] of rows) {
    if (rowProblem(key, createRev, modRev, version, lease, revision) !== undefined || valueProblem(String(key), value, sum) !== undefined) {
      bad.push({ rowid: rowid as number, key: String(key) });
    }
  }
  if (bad.length > 0) {
    const del = db.prepare('DELETE FROM kv WHERE rowid = ?');
    db.transaction(() => {
      for (const b of bad) del.run(b.rowid);
    })();
  }
  return bad.map((b) => b.key);
}

/** The keys to name in a log line: the first {@link KEYS_LOGGED}, and how many more. */
export function keysForLog(keys: readonly string[]): { keys: string[]; more: number } {
  return { keys: keys.slice(0, KEYS_LOGGED), more: Math.max(0, keys.length - KEYS_LOGGED) };
}
