/**
 * The embedded store's tables, their migration, and what a sound row looks like.
 *
 * Schema 2 adds `kv.sum`: a CRC-32 of the key and value, written with every row and checked on
 * every value read, so a value damaged on disk (a flipped byte, an edit behind the store's back)
 * is reported with its key instead of being handed to the catalog. SQLite checksums neither
 * pages nor rows; its integrity check finds broken structure, not changed content.
 */
import type Database from 'better-sqlite3';
import { crc32 } from 'node:zlib';

export const SCHEMA_VERSION = 2;

/** The checksum stored with a row: CRC-32 of the key, a NUL, then the value (UTF-8). */
export function valueSum(key: string, value: string): number {
  return crc32(value, crc32(`${key}\u0000`));
}

/**
 * Creates the tables of a new database, or migrates an older one; throws if the database is
 * newer than this build. A fresh store starts at revision 1, like a fresh etcd cluster. Lease ids
 * count up from unix-seconds x 1,000,000, so a wiped data dir does not hand out ids an old client
 * may still hold.
 */
export function createSchema(db: Database.Database): void {
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
      lease TEXT NOT NULL,
      sum INTEGER
    );
    CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY NOT NULL, ttl INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS meta (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      revision INTEGER NOT NULL,
      compacted INTEGER NOT NULL,
      next_lease INTEGER NOT NULL
    );
  `);
  db.prepare('INSERT OR IGNORE INTO meta (id, revision, compacted, next_lease) VALUES (1, 1, 0, ?)').run(Math.floor(Date.now() / 1000) * 1_000_000);
  if (version === 1) {
    // Schema 1 had no checksums: add the column and fill it from the rows as they are.
    db.exec('ALTER TABLE kv ADD COLUMN sum INTEGER');
    db.function('beacon_value_sum', { deterministic: true }, (key: unknown, value: unknown) => valueSum(String(key), String(value)));
    db.exec('UPDATE kv SET sum = beacon_value_sum(key, value)');
  }
  if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/**
 * What is wrong with a key row's metadata, or undefined if it is sound. `revision` is the store
 * revision the database holds: no row can be newer.
 */
export function rowProblem(key: unknown, createRev: unknown, modRev: unknown, version: unknown, lease: unknown, revision: number): string | undefined {
  if (typeof key !== 'string' || key === '') return 'its key is not a non-empty string';
  if (!Number.isSafeInteger(createRev) || (createRev as number) < 1) return `its create revision ${String(createRev)} is not a revision`;
  if (!Number.isSafeInteger(modRev) || (modRev as number) < (createRev as number) || (modRev as number) > revision) {
    return `its mod revision ${String(modRev)} is outside ${String(createRev)}..${revision}`;
  }
  if (!Number.isSafeInteger(version) || (version as number) < 1) return `its version ${String(version)} is not a version`;
  if (typeof lease !== 'string' || !/^\d+$/.test(lease)) return `its lease ${JSON.stringify(lease)} is not a lease id`;
  return undefined;
}

/** What is wrong with a row's value, or undefined if it matches its checksum (a row without one is not checked). */
export function valueProblem(key: string, value: unknown, sum: unknown): string | undefined {
  if (typeof value !== 'string') return 'its stored value is not text';
  if (sum === null || sum === undefined) return undefined;
  return sum === valueSum(key, value) ? undefined : 'its stored value does not match its checksum';
}
