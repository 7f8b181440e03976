/**
 * The embedded store's start-up checks on crash images: a copy of the data files taken while a
 * store is open is what a `kill -9` leaves behind (the write-ahead log not yet checkpointed, the
 * acknowledged revision in the page cache).
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isBeaconError } from '../../errors/index.js';
import type { StoreLogger } from '../logger.js';
import { ACK_FILE, readAck } from './ack-file.js';
import { EmbeddedStore } from './index.js';
import { scanWal } from './wal-scan.js';

const dirs: string[] = [];
const open: EmbeddedStore[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-checks-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openAt(dataDir: string, opts: { recover?: boolean; logger?: StoreLogger } = {}): Promise<EmbeddedStore> {
  const s = await EmbeddedStore.open({ dataDir, ...opts });
  open.push(s);
  return s;
}

/** A logger that keeps every line. */
function recorder(): StoreLogger & { lines: Array<{ level: string; obj: object; msg: string }>; text(): string } {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg: msg ?? '' });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), text: () => lines.map((l) => `${l.level} ${l.msg}`).join('\n') };
}

/** Copies the data files of an open store: what a kill -9 at this moment leaves on disk. */
function crashImage(from: string): string {
  const to = tempDir();
  for (const f of ['beacon.db', 'beacon.db-wal', ACK_FILE]) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
  return to;
}

/** Writes `n` puts, one commit each; returns the last revision. */
async function writeSequentially(s: EmbeddedStore, n: number, prefix = 'k/'): Promise<number> {
  let revision = 0;
  for (let i = 0; i < n; i++) revision = (await s.put(`${prefix}${String(i).padStart(4, '0')}`, JSON.stringify({ i, pad: 'x'.repeat(40) }))).revision;
  return revision;
}

/** Flips one byte in the page data of WAL frame `frame` (1-based). */
function flipWalByte(dir: string, frame: number): void {
  const path = join(dir, 'beacon.db-wal');
  const buf = readFileSync(path);
  const pageSize = buf.readUInt32BE(8);
  const at = 32 + (frame - 1) * (24 + pageSize) + 24 + 1000;
  buf[at] ^= 0x20;
  writeFileSync(path, buf);
}

const message = (err: unknown): string => (err as Error).message;

describe('write-ahead log scan', () => {
  it('reads a sound log to its last commit', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await writeSequentially(s, 50);
    const scan = scanWal(join(crashImage(dir), 'beacon.db-wal'));
    expect(scan.pageSize).toBe(4096);
    expect(scan.brokenAt).toBeUndefined();
    expect(scan.replayed).toBe(scan.lastFrame);
    expect(scan.lastFrame).toBeGreaterThan(50);
  });

  it('finds a flipped byte in the middle and counts the commits SQLite will drop after it', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await writeSequentially(s, 60);
    const image = crashImage(dir);
    const before = scanWal(join(image, 'beacon.db-wal'));
    const middle = Math.floor(before.lastFrame / 2);
    flipWalByte(image, middle);
    const scan = scanWal(join(image, 'beacon.db-wal'));
    expect(scan.brokenAt).toBe(middle);
    expect(scan.breakReason).toBe('it fails its checksum');
    expect(scan.replayed).toBeLessThan(middle);
    expect(scan.lastFrame).toBe(before.lastFrame);
    // One commit per put, and the puts after the break are all still whole on disk.
    expect(scan.commitsAfterBreak).toBeGreaterThan(20);
  });

  it('does not count frames left over from an earlier use of the log file', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    // Past SQLite's automatic checkpoint (1,000 pages), the log starts over from its first frame
    // and the older frames behind the new ones stay in the file with other salts.
    await writeSequentially(s, 700);
    const scan = scanWal(join(crashImage(dir), 'beacon.db-wal'));
    expect(scan.bytes).toBeGreaterThan(32 + scan.lastFrame * (24 + 4096));
    expect(scan.brokenAt).toBeUndefined();
    expect(scan.commitsAfterBreak).toBe(0);
  });

  it('treats a missing or short file as an empty log', () => {
    const dir = tempDir();
    expect(scanWal(join(dir, 'none'))).toMatchObject({ bytes: 0, replayed: 0, lastFrame: 0 });
    writeFileSync(join(dir, 'short'), Buffer.alloc(10));
    expect(scanWal(join(dir, 'short'))).toMatchObject({ bytes: 10, replayed: 0, lastFrame: 0 });
  });
});

describe('acknowledged-revision file', () => {
  it('follows the commits, reads back, and refuses a line that fails its checksum', async () => {
    const dir = tempDir();
    expect(readAck(dir)).toEqual({ state: 'missing' });
    const s = await openAt(dir);
    const { revision } = await s.put('a', '1');
    expect(readAck(dir)).toEqual({ state: 'ok', revision });
    expect(readFileSync(join(dir, ACK_FILE), 'latin1')).toMatch(/^beacon acknowledged revision 0{15}2 crc32 [0-9a-f]{8}\n$/);
    writeFileSync(join(dir, 'x'), readFileSync(join(dir, ACK_FILE), 'latin1').replace('0002', '0009'));
    copyFileSync(join(dir, 'x'), join(tempDir(), ACK_FILE));
    expect(readAck(dirs.at(-1)!)).toMatchObject({ state: 'unreadable', problem: 'its line fails its checksum' });
  });
});

describe('start-up checks', () => {
  it('refuses a log that breaks before acknowledged revisions, naming the file and the revisions, and changes nothing', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    const last = await writeSequentially(s, 60);
    const image = crashImage(dir);
    const scan = scanWal(join(image, 'beacon.db-wal'));
    flipWalByte(image, Math.floor(scan.lastFrame / 2));
    const bytes = readFileSync(join(image, 'beacon.db-wal'));

    const err = await EmbeddedStore.open({ dataDir: image }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_CORRUPT')).toBe(true);
    expect(message(err)).toMatch(
      new RegExp(
        `^data file ${join(image, 'beacon.db')}: write-ahead log ends at frame \\d+ of ${scan.lastFrame} \\(frame \\d+: it fails its checksum; \\d+ committed transactions after it are dropped\\); \\d+ acknowledged revisions \\(\\d+\\.\\.${last}\\) are missing; start with --recover to continue with what is readable$`,
      ),
    );
    expect(message(err)).not.toContain('\n');
    // A refused start leaves the files as they were, for --recover or a person to look at.
    expect(readFileSync(join(image, 'beacon.db-wal')).equals(bytes)).toBe(true);
    expect(readdirSync(image).sort()).toEqual(['beacon.ack', 'beacon.db', 'beacon.db-wal']);
    // The same again: the finding does not depend on a first attempt.
    expect(message(await EmbeddedStore.open({ dataDir: image }).catch((e: unknown) => e))).toBe(message(err));
  });

  it('--recover starts with what is readable, keeps revisions moving forward, keeps the log aside and logs what was lost', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    const last = await writeSequentially(s, 60);
    const image = crashImage(dir);
    flipWalByte(image, Math.floor(scanWal(join(image, 'beacon.db-wal')).lastFrame / 2));
    const log = recorder();
    const r = await openAt(image, { recover: true, logger: log });
    const { kvs, revision } = await r.range('k/');
    expect(kvs.length).toBeGreaterThan(5);
    expect(kvs.length).toBeLessThan(60);
    // The keys kept are the first ones written: a prefix of the history, nothing out of order.
    expect(kvs.map((kv) => kv.key)).toEqual(Array.from({ length: kvs.length }, (_, i) => `k/${String(i).padStart(4, '0')}`));
    expect(revision).toBe(last);
    expect((await r.put('after', 'recover')).revision).toBe(last + 1);
    const lost = last - (kvs.length + 1);
    expect(log.text()).toContain(
      `store started with --recover at revision ${last}: ${lost} acknowledged revisions (${kvs.length + 2}..${last}) lost, keys affected unknown`,
    );
    expect(readdirSync(image).some((f) => /^beacon\.db-wal\.damaged-\d+$/.test(f))).toBe(true);
    await r.close();
    // Once recovered, it starts normally.
    const again = await openAt(image);
    expect((await again.get('after'))?.value).toBe('recover');
  });

  it('refuses a data file truncated to 0 bytes when revisions were acknowledged; --recover starts empty', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    const last = await writeSequentially(s, 5);
    await s.close();
    truncateSync(join(dir, 'beacon.db'), 0);
    const err = await EmbeddedStore.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_CORRUPT')).toBe(true);
    expect(message(err)).toBe(
      `data file ${join(dir, 'beacon.db')}: the file is empty (0 bytes); ${last - 1} acknowledged revisions (2..${last}) are missing; start with --recover to set what is left aside and continue with an empty store`,
    );

    const log = recorder();
    const r = await openAt(dir, { recover: true, logger: log });
    expect((await r.stats()).keys).toBe(0);
    expect(await r.currentRevision()).toBe(last);
    expect(log.text()).toContain(`${last - 1} acknowledged revisions (2..${last}) lost`);
    expect(readdirSync(dir).some((f) => /^beacon\.db\.damaged-\d+$/.test(f))).toBe(true);
  });

  it('refuses a missing data file when revisions were acknowledged', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await writeSequentially(s, 3);
    await s.close();
    rmSync(join(dir, 'beacon.db'));
    const err = await EmbeddedStore.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_CORRUPT')).toBe(true);
    expect(message(err)).toContain(': the file is missing; 3 acknowledged revisions (2..4) are missing');
  });

  it('refuses a database behind the acknowledged revision (an older copy put back)', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await writeSequentially(s, 3);
    await s.close();
    const old = tempDir();
    copyFileSync(join(dir, 'beacon.db'), join(old, 'beacon.db'));
    const t = await openAt(dir);
    const last = await writeSequentially(t, 5, 'later/');
    await t.close();
    copyFileSync(join(old, 'beacon.db'), join(dir, 'beacon.db'));
    const err = await EmbeddedStore.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_CORRUPT')).toBe(true);
    expect(message(err)).toBe(
      `data file ${join(dir, 'beacon.db')}: it holds revision 4 but revision ${last} was acknowledged (beacon.ack); 5 acknowledged revisions (5..${last}) are missing; start with --recover to continue with what is readable`,
    );
  });

  it('accepts a torn last transaction that was never acknowledged, with a warning', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    const last = await writeSequentially(s, 20);
    const image = crashImage(dir);
    const scan = scanWal(join(image, 'beacon.db-wal'));
    flipWalByte(image, scan.lastFrame);
    // The torn commit was being written when the power went: it was never acknowledged.
    writeFileSync(join(image, ACK_FILE), readFileSync(join(dir, ACK_FILE), 'latin1'));
    const ackRevision = last - 1;
    const body = `beacon acknowledged revision ${String(ackRevision).padStart(16, '0')}`;
    const { crc32 } = await import('node:zlib');
    writeFileSync(join(image, ACK_FILE), `${body} crc32 ${crc32(body).toString(16).padStart(8, '0')}\n`);
    const log = recorder();
    const r = await openAt(image, { logger: log });
    expect(await r.currentRevision()).toBe(ackRevision);
    expect(log.text()).toContain('the write-ahead log ends in a torn transaction that was never acknowledged');
  });

  it('refuses a damaged page (SQLite integrity check); --recover copies the readable rows into a new file', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await Promise.all(Array.from({ length: 400 }, (_, i) => s.put(`svc/${String(i).padStart(4, '0')}`, JSON.stringify({ i, pad: 'y'.repeat(200) }))));
    await s.close();
    // Find a leaf page of the kv table and break its header.
    const db = new Database(join(dir, 'beacon.db'), { readonly: true });
    const leaves = db.prepare("SELECT pageno FROM dbstat WHERE name = 'kv' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[];
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    expect(leaves.length).toBeGreaterThan(5);
    const victim = leaves[Math.floor(leaves.length / 2)];
    const buf = readFileSync(join(dir, 'beacon.db'));
    buf.fill(0xa5, (victim - 1) * pageSize, (victim - 1) * pageSize + 64);
    writeFileSync(join(dir, 'beacon.db'), buf);

    const err = await EmbeddedStore.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_CORRUPT')).toBe(true);
    expect(message(err)).toMatch(
      new RegExp(`^data file ${join(dir, 'beacon.db')}: SQLite's integrity check failed: .+; start with --recover to continue with what is readable$`),
    );

    const log = recorder();
    const r = await openAt(dir, { recover: true, logger: log });
    const kept = (await r.range('svc/')).kvs;
    expect(kept.length).toBeGreaterThan(300);
    expect(kept.length).toBeLessThan(400);
    for (const kv of kept) expect(JSON.parse(kv.value)).toMatchObject({ i: Number(kv.key.slice(4)) });
    expect(log.text()).toMatch(/rows copied from the damaged file, \d+ unreadable/);
    expect(readdirSync(dir).some((f) => /^beacon\.db\.damaged-\d+$/.test(f))).toBe(true);
  });

  it('names the key and file of a value that does not match its checksum; --recover drops the key', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await s.put('services/web-1', '{"Port":80}');
    await s.put('services/web-2', '{"Port":81}');
    const { revision } = await s.put('services/web-3', '{"Port":82}');
    await s.close();
    const db = new Database(join(dir, 'beacon.db'));
    db.prepare("UPDATE kv SET value = '{\"Port\":!0}' WHERE key = 'services/web-2'").run();
    db.close();

    const t = await openAt(dir);
    const path = join(dir, 'beacon.db');
    const expected = `data file ${path}: key "services/web-2" is damaged (its stored value does not match its checksum); start with --recover to drop it and continue`;
    for (const read of [
      t.get('services/web-2'),
      t.range('services/'),
      t.put('services/web-2', '{}'),
      t.txn([{ key: 'services/web-2', target: 'value', op: '==', value: 'x' }], []),
    ]) {
      const err = await read.catch((e: unknown) => e);
      expect(isBeaconError(err, 'BEACON_ERR_STORE_CORRUPT')).toBe(true);
      expect(message(err)).toBe(expected);
    }
    expect((await t.get('services/web-1'))?.value).toBe('{"Port":80}');
    await t.close();

    const log = recorder();
    const r = await openAt(dir, { recover: true, logger: log });
    expect((await r.range('services/')).kvs.map((kv) => kv.key)).toEqual(['services/web-1', 'services/web-3']);
    expect(await r.currentRevision()).toBe(revision + 1);
    expect(log.lines.find((l) => l.level === 'error')?.obj).toMatchObject({ droppedKeys: { keys: ['services/web-2'], more: 0 } });
    expect(log.text()).toContain('1 damaged key dropped');
  });

  it('refuses a key row whose metadata cannot be, naming the key', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await s.put('a', '1');
    await s.close();
    const db = new Database(join(dir, 'beacon.db'));
    db.prepare("UPDATE kv SET mod_rev = 99 WHERE key = 'a'").run();
    db.close();
    const err = await EmbeddedStore.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STORE_CORRUPT')).toBe(true);
    expect(message(err)).toBe(
      `data file ${join(dir, 'beacon.db')}: key "a" is damaged (its mod revision 99 is outside 2..2); start with --recover to drop it and continue`,
    );
  });

  it('migrates a schema-1 database, checksumming the rows it holds', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await s.put('old', 'value');
    await s.close();
    const db = new Database(join(dir, 'beacon.db'));
    db.exec('ALTER TABLE kv DROP COLUMN sum');
    db.pragma('user_version = 1');
    db.close();
    const t = await openAt(dir);
    expect((await t.get('old'))?.value).toBe('value');
    await t.close();
    const check = new Database(join(dir, 'beacon.db'), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    expect(check.prepare("SELECT sum FROM kv WHERE key = 'old'").pluck().get()).toEqual(expect.any(Number));
    check.close();
  });

  it('leaves no files of its own behind after the checks', async () => {
    const dir = tempDir();
    const s = await openAt(dir);
    await s.put('a', '1');
    await s.close();
    const t = await openAt(dir);
    // The open store has its log; the read-only check's shared-memory file and the ack's temporary file are gone.
    expect(readdirSync(dir).sort()).toEqual(['beacon.ack', 'beacon.db', 'beacon.db-wal']);
    await t.close();
    expect(readdirSync(dir).sort()).toEqual(['beacon.ack', 'beacon.db']);
    expect(statSync(join(dir, 'beacon.db')).size).toBeGreaterThan(0);
  });
});
