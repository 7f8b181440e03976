/**
 * What the embedded store checks before it opens its database for writing, and how it words
 * what it finds. Everything here reads only: the database is opened read-only (so SQLite
 * neither checkpoints nor rewrites its write-ahead log), and a refused start leaves the data
 * directory as it was, for `--recover` or for a person to look at.
 *
 * - SQLite's `integrity_check` (the whole file: pages, tables and the key index);
 * - the write-ahead log, frame by frame (wal-scan.ts): a break SQLite's recovery would step over;
 * - the acknowledged revision (ack-file.ts) against the revision the database holds after recovery.
 */
import Database from 'better-sqlite3';
import { rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ACK_FILE, readAck, type AckRead } from './ack-file.js';
import { scanWal, type WalScan } from './wal-scan.js';

/** Integrity-check messages kept (SQLite stops after this many). */
const INTEGRITY_MESSAGES = 10;

export interface DataFileReport {
  path: string;
  /**
   * missing / empty (0 bytes) / bare (a SQLite file without the store's tables) /
   * readable / unreadable (SQLite cannot open it).
   */
  state: 'missing' | 'empty' | 'bare' | 'readable' | 'unreadable';
  /** Why SQLite cannot read it (state 'unreadable'). */
  unreadable?: string;
  /** The revision the database holds after SQLite replayed its write-ahead log. */
  revision?: number;
  /** SQLite's integrity-check messages; empty when it answered ok. */
  integrity: string[];
  wal: WalScan;
  ack: AckRead;
}

/** What the checks found wrong, if anything. */
export interface Damage {
  /** Each finding as a clause of one line (without the file name). */
  findings: string[];
  /** Acknowledged revisions the database does not hold, when known. */
  lost?: { from: number; to: number };
  /** The write-ahead log drops transactions SQLite will not replay. */
  walBroken: boolean;
  integrityFailed: boolean;
  /** The database is missing, empty, bare or unreadable: nothing in it can be used. */
  noData: boolean;
  /** The damage shows only in SQLite refusing the file, with no sign it held a store. */
  maybeNotOurs: boolean;
}

/** SQLite error codes that mean the file is not (or no longer) a database. */
export const isCorruptionCode = (code: unknown): boolean => typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');

/** SQLite error codes of an I/O failure (a full disk, a file that cannot be created). */
export const isIoCode = (code: unknown): boolean =>
  typeof code === 'string' &&
  (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY'));

/**
 * Inspects `<dir>/beacon.db` read-only. Throws the SQLite error when the database is locked by
 * another process (the caller words it), or cannot be opened read-only for another reason than
 * damage (e.g. on a full disk, where SQLite cannot create the read-only connection's
 * shared-memory file; see {@link inspectOpen}).
 */
export function inspectDataFile(path: string, lockTimeoutMs: number): DataFileReport {
  const ack = readAck(dirname(path));
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (size === undefined || size === 0) {
    return { path, state: size === undefined ? 'missing' : 'empty', integrity: [], wal: scanWal(`${path}-wal`), ack };
  }
  const created = [`${path}-shm`, `${path}-wal`].filter((p) => statSync(p, { throwIfNoEntry: false }) === undefined);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: lockTimeoutMs });
    // One read transaction for everything: it holds off any other writer while the log is read.
    db.exec('BEGIN');
    return inspectOpen(db, path, ack);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (!isCorruptionCode(code)) throw err;
    return { path, state: 'unreadable', unreadable: (err as Error).message, integrity: [], wal: scanWal(`${path}-wal`), ack };
  } finally {
    // Ends the read transaction (SQLite may refuse a COMMIT after it met damage; closing ends it anyway).
    db?.close();
    // A read-only connection leaves its shared-memory index (and may leave an empty log) behind.
    for (const p of created) {
      const st = statSync(p, { throwIfNoEntry: false });
      if (st !== undefined && (p.endsWith('-shm') || st.size === 0)) rmSync(p, { force: true });
    }
  }
}

/**
 * The checks on a database already open inside a transaction that holds off writers: the
 * read-only connection's, or (when that cannot be had) the store's own before it writes
 * anything. Throws SQLite's error when the file cannot be read at all.
 */
export function inspectOpen(db: Database.Database, path: string, ack: AckRead = readAck(dirname(path))): DataFileReport {
  const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('kv', 'leases', 'meta')").pluck().get() as number;
  const wal = scanWal(`${path}-wal`);
  if (tables < 3) return { path, state: 'bare', integrity: [], wal, ack };
  let revision: number | undefined;
  let integrity: string[];
  try {
    revision = db.prepare('SELECT revision FROM meta WHERE id = 1').pluck().get() as number | undefined;
    const rows = db.pragma(`integrity_check(${INTEGRITY_MESSAGES})`, { simple: false }) as Array<{ integrity_check: string }>;
    integrity = rows.map((r) => r.integrity_check).filter((m) => m !== 'ok');
  } catch (err) {
    if (!isCorruptionCode((err as { code?: unknown }).code)) throw err;
    integrity = [(err as Error).message];
  }
  return { path, state: 'readable', revision: typeof revision === 'number' ? revision : undefined, integrity, wal, ack };
}

/** Judges a report: undefined when nothing acknowledged is lost and the file is sound. */
export function assessDamage(r: DataFileReport): Damage | undefined {
  const acked = r.ack.state === 'ok' ? r.ack.revision : undefined;
  const findings: string[] = [];
  const damage: Damage = { findings, walBroken: false, integrityFailed: false, noData: false, maybeNotOurs: false };
  if (r.state === 'unreadable') {
    findings.push(`SQLite cannot read it (${r.unreadable ?? 'unknown error'})`);
    damage.noData = true;
    damage.maybeNotOurs = acked === undefined;
    if (acked !== undefined && acked > 1) damage.lost = { from: 2, to: acked };
    return damage;
  }
  if (r.state !== 'readable') {
    // A store that never acknowledged a write (revision 1) has nothing to lose.
    if (acked === undefined || acked <= 1) return undefined;
    findings.push(r.state === 'missing' ? 'the file is missing' : r.state === 'empty' ? 'the file is empty (0 bytes)' : "it holds none of the store's tables");
    damage.noData = true;
    damage.lost = { from: 2, to: acked };
    return damage;
  }
  if (r.integrity.length > 0) {
    damage.integrityFailed = true;
    const more = r.integrity.length > 1 ? ` (and ${r.integrity.length - 1} more problem${r.integrity.length > 2 ? 's' : ''})` : '';
    findings.push(`SQLite's integrity check failed: ${r.integrity[0]}${more}`);
  }
  const revision = r.revision ?? 0;
  const behind = acked !== undefined && acked > revision;
  const { wal } = r;
  if (wal.brokenAt !== undefined && (wal.commitsAfterBreak >= 2 || (wal.commitsAfterBreak >= 1 && wal.headerProblem !== undefined) || behind)) {
    damage.walBroken = true;
    const dropped =
      wal.commitsAfterBreak > 0
        ? `; ${wal.commitsAfterBreak} committed transaction${wal.commitsAfterBreak === 1 ? '' : 's'} after it ${wal.commitsAfterBreak === 1 ? 'is' : 'are'} dropped`
        : '';
    findings.push(`write-ahead log ends at frame ${wal.replayed} of ${wal.lastFrame} (frame ${wal.brokenAt}: ${wal.breakReason ?? 'unreadable'}${dropped})`);
  } else if (behind) {
    findings.push(`it holds revision ${revision} but revision ${acked} was acknowledged (${ACK_FILE})`);
  }
  if (behind) damage.lost = { from: revision + 1, to: acked };
  return findings.length === 0 ? undefined : damage;
}

/** The one-line message for a refused start. */
export function damageMessage(path: string, d: Damage, revision: number | undefined): string {
  let lost = '';
  if (d.lost !== undefined) {
    const n = d.lost.to - d.lost.from + 1;
    lost = `; ${n} acknowledged revision${n === 1 ? '' : 's'} (${d.lost.from}..${d.lost.to}) ${n === 1 ? 'is' : 'are'} missing`;
  } else if (d.walBroken && revision !== undefined) {
    lost = `; the revisions after ${revision} are missing`;
  }
  const way = d.noData
    ? 'start with --recover to set what is left aside and continue with an empty store'
    : 'start with --recover to continue with what is readable';
  return `data file ${path}: ${d.findings.join('; ')}${lost}; ${way}`;
}
