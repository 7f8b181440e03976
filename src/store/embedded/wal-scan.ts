/**
 * Reads a SQLite write-ahead log (https://sqlite.org/fileformat2.html#walformat) the way SQLite's
 * recovery does, without SQLite, and reports what recovery will silently drop.
 *
 * SQLite replays frames while their salts match the header and their cumulative checksums hold,
 * and keeps everything up to the last commit frame before the first frame that fails. A frame
 * that fails in the middle of the log (a flipped byte) therefore drops every transaction after
 * it without a word. This scan finds that break and counts the commit frames of the same log
 * after it that still check out on their own (each seeded with the checksum stored in the frame
 * before it): transactions that were written and synced, and that recovery will not replay.
 * Frames left over from an earlier use of the file carry other salts and are not counted.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const MAGIC = 0x377f0682;
const VERSION = 3007000;
const HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;
/** Frames read per system call. */
const FRAMES_PER_READ = 64;

export interface WalScan {
  /** Bytes in the file (0 when it does not exist). */
  bytes: number;
  /** Page size from the header (0 if the header is unreadable). */
  pageSize: number;
  /** Why the header is unusable, if it is (SQLite then replays nothing). */
  headerProblem?: string;
  /** Last frame of the current log: the highest-numbered frame carrying the header's salts. */
  lastFrame: number;
  /** Frames SQLite replays: 1..replayed (up to the last commit frame before any break). */
  replayed: number;
  /** First frame of the current log that fails (1-based), when one does. */
  brokenAt?: number;
  /** What is wrong with frame `brokenAt`. */
  breakReason?: string;
  /** Commit frames of the current log after the break that check out on their own: transactions recovery drops. */
  commitsAfterBreak: number;
}

/** The WAL checksum (SQLite's walChecksumBytes): pairs of 32-bit words, seeded with `s`. */
function checksum(buf: Buffer, start: number, end: number, bigEndian: boolean, s: [number, number]): [number, number] {
  let s0 = s[0];
  let s1 = s[1];
  for (let i = start; i < end; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

const validPageSize = (n: number): boolean => n >= 512 && n <= 65536 && (n & (n - 1)) === 0;

/**
 * Scans the write-ahead log at `path`. A missing file or one shorter than its header is an empty
 * log. Throws only on a read error.
 */
export function scanWal(path: string): WalScan {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { bytes: 0, pageSize: 0, lastFrame: 0, replayed: 0, commitsAfterBreak: 0 };
    throw err;
  }
  try {
    return scanOpen(fd);
  } finally {
    closeSync(fd);
  }
}

function scanOpen(fd: number): WalScan {
  const head = Buffer.alloc(HEADER_BYTES);
  const headBytes = readSync(fd, head, 0, HEADER_BYTES, 0);
  const bytes = fstatSync(fd).size;
  const empty: WalScan = { bytes, pageSize: 0, lastFrame: 0, replayed: 0, commitsAfterBreak: 0 };
  if (headBytes < HEADER_BYTES) return empty;
  const magic = head.readUInt32BE(0);
  const bigEndian = (magic & 1) === 1;
  const pageSize = head.readUInt32BE(8);
  const salt1 = head.readUInt32BE(16);
  const salt2 = head.readUInt32BE(20);
  const stored: [number, number] = [head.readUInt32BE(24), head.readUInt32BE(28)];
  let headerProblem: string | undefined;
  if ((magic & 0xfffffffe) >>> 0 !== MAGIC) headerProblem = 'its header has a bad magic number';
  else if (head.readUInt32BE(4) !== VERSION) headerProblem = `its header names format ${head.readUInt32BE(4)}`;
  else if (!validPageSize(pageSize)) headerProblem = `its header names page size ${pageSize}`;
  else {
    const [c0, c1] = checksum(head, 0, 24, bigEndian, [0, 0]);
    if (c0 !== stored[0] || c1 !== stored[1]) headerProblem = 'its header fails its checksum';
  }
  // Without a usable page size the frames cannot be found; SQLite replays nothing, and nothing
  // more can be said here (the acknowledged revision decides whether anything was lost).
  if (!validPageSize(pageSize)) return { ...empty, headerProblem };

  const frameBytes = FRAME_HEADER_BYTES + pageSize;
  const buf = Buffer.alloc(frameBytes * FRAMES_PER_READ);
  const result: WalScan = { bytes, pageSize, headerProblem, lastFrame: 0, replayed: 0, commitsAfterBreak: 0 };
  // A bad header is a break before frame 1: SQLite replays none of the frames.
  let broken = headerProblem !== undefined;
  if (broken) {
    result.brokenAt = 1;
    result.breakReason = headerProblem;
  }
  let seed = stored;
  let frame = 0;
  for (;;) {
    const got = readSync(fd, buf, 0, buf.length, HEADER_BYTES + frame * frameBytes);
    const whole = Math.floor(got / frameBytes);
    for (let f = 0; f < whole; f++) {
      frame++;
      const at = f * frameBytes;
      const pgno = buf.readUInt32BE(at);
      const commit = buf.readUInt32BE(at + 4) !== 0;
      const ours = buf.readUInt32BE(at + 8) === salt1 && buf.readUInt32BE(at + 12) === salt2;
      const own: [number, number] = [buf.readUInt32BE(at + 16), buf.readUInt32BE(at + 20)];
      if (ours) result.lastFrame = frame;
      const sum = checksum(buf, at + FRAME_HEADER_BYTES, at + frameBytes, bigEndian, checksum(buf, at, at + 8, bigEndian, seed));
      const sound = ours && pgno !== 0 && sum[0] === own[0] && sum[1] === own[1];
      if (!broken) {
        if (sound) {
          if (commit) result.replayed = frame;
        } else {
          broken = true;
          result.brokenAt = frame;
          result.breakReason = !ours ? 'its salt does not match the header' : pgno === 0 ? 'it names page 0' : 'it fails its checksum';
        }
      } else if (sound && commit) {
        result.commitsAfterBreak++;
      }
      // After a break, each frame is checked against the checksum stored in the frame before it.
      seed = own;
    }
    if (got < buf.length) break;
  }
  // Frames after the current log's last one are leftovers of an earlier use of the file.
  if (result.brokenAt !== undefined && result.brokenAt > result.lastFrame && result.commitsAfterBreak === 0 && headerProblem === undefined) {
    delete result.brokenAt;
    delete result.breakReason;
  }
  return result;
}
