/**
 * The embedded store's start-up: check the data file read-only, refuse a damaged one with one
 * line naming the file and what was found, or, with `recover`, set the damage aside, open, and
 * log what was lost. See startup-check.ts (the checks) and recovery.ts (what --recover does).
 */
import type Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { BeaconError } from '../../errors/index.js';
import type { StoreLogger } from '../logger.js';
import { ACK_FILE } from './ack-file.js';
import { dropDamagedRows, keysForLog, setAside, type Salvage } from './recovery.js';
import { assessDamage, damageMessage, inspectDataFile, inspectOpen, isIoCode, type Damage, type DataFileReport } from './startup-check.js';

export interface Checked {
  /** Undefined while the checks wait for the store's own connection ({@link checkOpenDatabase}). */
  report?: DataFileReport;
  /** Why the read-only checks could not run (an I/O error, e.g. a full disk). */
  deferred?: unknown;
  /** What was found, when something was (only returned with `recover`). */
  damage?: Damage;
  /** Files set aside by recovery. */
  kept: string[];
  salvage?: Salvage;
  /** Milliseconds the checks took. */
  ms: number;
}

/**
 * Checks the database at `path` before it is opened for writing. Without `recover`, damage
 * throws BEACON_ERR_STORE_CORRUPT (or BEACON_ERR_STARTUP for a file that may not be a store at
 * all); with it, the damage is set aside for the open that follows.
 */
export function checkDataFile(path: string, lockTimeoutMs: number, recover: boolean, logger: StoreLogger): Checked {
  const started = performance.now();
  let report: DataFileReport;
  try {
    report = inspectDataFile(path, lockTimeoutMs);
  } catch (err) {
    if (!isIoCode((err as { code?: unknown }).code)) throw err;
    // On a full disk SQLite cannot make a read-only connection (it needs a shared-memory file):
    // the same checks then run on the store's own connection before it writes anything.
    return { deferred: err, kept: [], ms: performance.now() - started };
  }
  return judge(report, recover, logger, started);
}

/**
 * The checks on the store's own connection, inside its first (exclusive) transaction and before
 * it writes, for when the read-only checks could not run. Damage is refused as in
 * {@link checkDataFile}; setting it aside (`recover`) needs a read-only pass, so it is refused too,
 * asking for free space first.
 */
export function checkOpenDatabase(db: Database.Database, path: string, checked: Checked, recover: boolean, logger: StoreLogger): Checked {
  const started = performance.now();
  logger.warn({ err: checked.deferred, path }, "the read-only start-up check could not run (is the disk full?); checking through the store's own connection");
  const next = judge(inspectOpen(db, path), recover, logger, started, false);
  return { ...next, ms: next.ms + checked.ms };
}

/** Logs what the report says, and refuses damage (or, with `recover`, sets it aside when it can). */
function judge(report: DataFileReport, recover: boolean, logger: StoreLogger, started: number, canSetAside = true): Checked {
  const { path } = report;
  if (report.ack.state === 'unreadable') {
    logger.warn(
      { path: join(dirname(path), ACK_FILE), problem: report.ack.problem },
      'the acknowledged-revision file is unreadable; it is rewritten, and lost writes cannot be detected this once',
    );
  }
  const damage = assessDamage(report);
  const ms = performance.now() - started;
  if (damage === undefined) {
    if (report.wal.brokenAt !== undefined) {
      logger.warn(
        { path, frame: report.wal.brokenAt, reason: report.wal.breakReason },
        'the write-ahead log ends in a torn transaction that was never acknowledged; SQLite drops it',
      );
    }
    return { report, kept: [], ms };
  }
  if (damage.maybeNotOurs) {
    throw new BeaconError('BEACON_ERR_STARTUP', `the store database ${path} is not a valid SQLite database: ${report.unreadable ?? 'unknown error'}`);
  }
  const message = damageMessage(path, damage, report.revision);
  if (!recover) throw new BeaconError('BEACON_ERR_STORE_CORRUPT', message);
  if (!canSetAside) {
    throw new BeaconError(
      'BEACON_ERR_STARTUP',
      `${message.replace(/; start with --recover.*$/, '')}; --recover needs free space on the disk to set the damage aside: free some and start again`,
    );
  }
  logger.error({ path, findings: damage.findings, lostRevisions: damage.lost }, `store recovery: ${message.replace(/; start with --recover.*$/, '')}`);
  const { kept, salvage } = setAside(report, damage, logger);
  return { report, damage, kept, salvage, ms };
}

/**
 * Finishes a `recover` start on the open database: drops damaged rows, moves the revision up to
 * the last acknowledged one (plus one if rows were dropped, so watchers see a change), and logs
 * what was lost. Returns the revision the store continues from.
 */
export function finishRecovery(db: Database.Database, checked: Checked, logger: StoreLogger): number {
  const dropped = dropDamagedRows(db);
  const held = db.prepare('SELECT revision FROM meta WHERE id = 1').pluck().get() as number;
  const acked = checked.report?.ack.state === 'ok' ? checked.report.ack.revision : 0;
  const revision = Math.max(held, acked) + (dropped.length > 0 ? 1 : 0);
  if (revision !== held) db.prepare('UPDATE meta SET revision = ? WHERE id = 1').run(revision);
  const { damage, salvage, kept } = checked;
  const lost: string[] = [];
  if (damage?.lost !== undefined) {
    const n = damage.lost.to - damage.lost.from + 1;
    lost.push(`${n} acknowledged revision${n === 1 ? '' : 's'} (${damage.lost.from}..${damage.lost.to}) lost, keys affected unknown`);
  } else if (damage?.walBroken) {
    lost.push(`the transactions after revision ${held} in the write-ahead log lost, keys affected unknown`);
  }
  if (salvage !== undefined) lost.push(`${salvage.rows} rows copied from the damaged file, ${salvage.lost} unreadable`);
  if (dropped.length > 0) lost.push(`${dropped.length} damaged key${dropped.length === 1 ? '' : 's'} dropped`);
  const path = checked.report?.path;
  if (lost.length === 0 && damage === undefined) {
    logger.info({ path, revision }, 'store started with --recover: no damage found');
    return revision;
  }
  logger.error(
    { path, revision, lostRevisions: damage?.lost, droppedKeys: keysForLog(dropped), salvage, keptAside: kept },
    `store started with --recover at revision ${revision}: ${lost.join('; ') || 'damage set aside'}${kept.length > 0 ? `; the damaged files are kept as ${kept.join(', ')}` : ''}`,
  );
  return revision;
}
