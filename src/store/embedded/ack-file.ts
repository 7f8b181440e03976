/**
 * The acknowledged-revision file (`<dataDir>/beacon.ack`): the last store revision whose writes
 * were acknowledged, kept apart from the database so that a database or write-ahead log that
 * lost committed transactions (a damaged frame, a truncated or replaced file) can be told from
 * one that is whole. At open, a database holding less than this revision has lost acknowledged
 * writes (see startup-check.ts).
 *
 * One fixed-length text line, rewritten in place after every group commit and before the
 * commit's writes are acknowledged, e.g.
 *   beacon acknowledged revision 0000000000000300 crc32 5d0c8a7e
 * The write lands in the OS page cache at once (a few microseconds), so after a crash of the
 * process the file is exact; it is flushed to the device (fdatasync) within a second of a
 * change, at each checkpoint and at close, not at every commit: that flush costs as much as the
 * commit's own fsync. After a power loss the file may therefore lag the database by up to a
 * second of writes, which only ever hides a loss, never reports one that did not happen.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { StoreLogger } from '../logger.js';

/** File name of the acknowledged-revision file inside the data directory. */
export const ACK_FILE = 'beacon.ack';
const PREFIX = 'beacon acknowledged revision ';
const LINE = /^beacon acknowledged revision (\d{16}) crc32 ([0-9a-f]{8})\n$/;
/** How soon after a change the file is flushed to the device. */
const FLUSH_AFTER_MS = 1000;

export type AckRead = { state: 'missing' } | { state: 'ok'; revision: number } | { state: 'unreadable'; problem: string };

function line(revision: number): string {
  const body = `${PREFIX}${String(revision).padStart(16, '0')}`;
  return `${body} crc32 ${crc32(body).toString(16).padStart(8, '0')}\n`;
}

/** Reads the acknowledged revision recorded in `dataDir`, if any. */
export function readAck(dataDir: string): AckRead {
  let text: string;
  try {
    text = readFileSync(join(dataDir, ACK_FILE), 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'unreadable', problem: (err as Error).message };
  }
  const m = LINE.exec(text);
  if (m === null) return { state: 'unreadable', problem: text.length === 0 ? 'it is empty' : 'it is not an acknowledged-revision line' };
  const body = `${PREFIX}${m[1]}`;
  if (crc32(body).toString(16).padStart(8, '0') !== m[2]) return { state: 'unreadable', problem: 'its line fails its checksum' };
  return { state: 'ok', revision: Number(m[1]) };
}

export class AckFile {
  readonly path: string;
  private fd: number | undefined;
  private recorded: number;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;

  private constructor(
    path: string,
    fd: number | undefined,
    revision: number,
    private readonly logger: StoreLogger,
  ) {
    this.path = path;
    this.fd = fd;
    this.recorded = revision;
  }

  /**
   * Opens the file in `dataDir` holding `revision`, flushed to the device. An existing file is
   * rewritten in place (no new space needed, so a full disk does not stop a start); a missing or
   * unreadable one is written aside and renamed over. Never throws: if the file cannot be
   * written, that is logged and the store runs without it (the start-up check is then weaker,
   * never wrong: the old line, if any, stays at or below what the database holds).
   */
  static open(dataDir: string, revision: number, logger: StoreLogger): AckFile {
    const path = join(dataDir, ACK_FILE);
    let fd: number | undefined;
    try {
      if (readAck(dataDir).state === 'ok') {
        fd = openSync(path, 'r+');
        writeSync(fd, line(revision), 0, 'latin1');
        fdatasyncSync(fd);
      } else {
        // Written aside and renamed over, so a crash never leaves a half-written file.
        const tmp = `${path}.tmp`;
        const out = openSync(tmp, 'w');
        try {
          writeSync(out, line(revision), 0, 'latin1');
          fdatasyncSync(out);
        } finally {
          closeSync(out);
        }
        renameSync(tmp, path);
        syncDir(dataDir);
        fd = openSync(path, 'r+');
      }
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      logger.warn({ err, path }, 'cannot write the acknowledged store revision; running without it, so the next start-up check cannot see lost writes');
    }
    return new AckFile(path, fd, revision, logger);
  }

  /** The revision last recorded. */
  get revision(): number {
    return this.recorded;
  }

  /**
   * Records `revision` as acknowledged (call after the commit holding it is durable, before
   * acknowledging it). A failure is logged once and otherwise ignored: the writes are durable,
   * only the check at the next start gets weaker.
   */
  record(revision: number): void {
    if (this.fd === undefined || revision === this.recorded) return;
    try {
      writeSync(this.fd, line(revision), 0, 'latin1');
      this.recorded = revision;
      this.warned = false;
    } catch (err) {
      if (!this.warned) this.logger.warn({ err, path: this.path }, 'cannot record the acknowledged store revision; the start-up check may miss lost writes');
      this.warned = true;
      return;
    }
    this.dirty = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, FLUSH_AFTER_MS);
      this.timer.unref();
    }
  }

  /** Flushes a recorded change to the device now. */
  flush(): void {
    if (this.fd === undefined || !this.dirty) return;
    try {
      fdatasyncSync(this.fd);
      this.dirty = false;
    } catch (err) {
      this.logger.warn({ err, path: this.path }, 'cannot flush the acknowledged store revision');
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Makes a new directory entry durable (a no-op where directories cannot be opened). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform lets a directory be opened or synced; the entry is then flushed with the file system.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
