/**
 * Builds a response from a cached answer and the query bytes, without encoding anything:
 * header fields are written, the query's own question is copied (so the client's letter case
 * comes back, RFC 4343 / 0x20), and pre-encoded records are copied in a freshly shuffled order
 * until the size limit. Records whose owner is the question name point to it (offset 12).
 */
import type { Topic } from '../catalog/index.js';
import { HEADER_LEN, OPT_BYTES, responseFlags, writeOpt, type ParsedQuery } from './wire.js';

/** Everything needed to answer one (name, type, class), encoded once. */
export interface CachedAnswer {
  rcode: number;
  authoritative: boolean;
  /** Answer-section records; with `shuffle`, their order is randomised on every query. */
  answers: Buffer[];
  /** Additional records that belong to answers[i] (an SRV target's A/AAAA); kept or dropped with it. */
  extras: (Buffer[] | undefined)[] | undefined;
  authority: Buffer[];
  /** Additional records that go with the whole answer (NS glue). */
  additional: Buffer[];
  shuffle: boolean;
  /** At most this many answers (the A-record limit); 0 = all. Not truncation: TC stays clear. */
  maxAnswers: number;
  /** Catalog topics whose change makes this answer stale; empty for answers that never change. */
  topics: readonly Topic[];
  /** Bytes of authority + additional records (precomputed). */
  fixedBytes: number;
  /** Bytes of each answer with its extras (precomputed). */
  unitBytes: number[];
}

/** Precomputes the byte counts of an answer. */
export function finishAnswer(a: Omit<CachedAnswer, 'fixedBytes' | 'unitBytes'>): CachedAnswer {
  let fixedBytes = 0;
  for (const r of a.authority) fixedBytes += r.length;
  for (const r of a.additional) fixedBytes += r.length;
  const unitBytes = a.answers.map((r, i) => {
    let n = r.length;
    for (const x of a.extras?.[i] ?? []) n += x.length;
    return n;
  });
  return { ...a, fixedBytes, unitBytes };
}

export interface Assembled {
  message: Buffer;
  truncated: boolean;
}

let order = new Int32Array(64);

/**
 * Assembles the response to `query` (read from `req`) that fits `limit` bytes.
 * Answers are kept whole with their extras; when not all fit, TC is set (RFC 2181 9).
 */
export function assemble(entry: CachedAnswer, req: Buffer, query: ParsedQuery, limit: number, recursionAvailable: boolean, ednsSize: number): Assembled {
  const qlen = query.questionEnd - HEADER_LEN;
  const opt = query.edns !== undefined;
  const n = entry.maxAnswers > 0 ? Math.min(entry.maxAnswers, entry.answers.length) : entry.answers.length;
  const total = entry.answers.length;
  if (order.length < total) order = new Int32Array(Math.max(total, order.length * 2));
  for (let i = 0; i < total; i++) order[i] = i;
  if (entry.shuffle) {
    // Fisher-Yates over the first n picks: a uniformly random ordered subset of size n.
    for (let i = 0; i < n && i < total - 1; i++) {
      const j = i + Math.floor(Math.random() * (total - i));
      const t = order[i];
      order[i] = order[j]!;
      order[j] = t;
    }
  }
  let size = HEADER_LEN + qlen + entry.fixedBytes + (opt ? OPT_BYTES : 0);
  let kept = 0;
  let truncated = false;
  let extrasCount = 0;
  for (; kept < n; kept++) {
    const u = entry.unitBytes[order[kept]];
    if (size + u > limit) {
      truncated = true;
      break;
    }
    size += u;
    extrasCount += entry.extras?.[order[kept]]?.length ?? 0;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE(responseFlags(query.flags, entry.authoritative, truncated, recursionAvailable, entry.rcode), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(kept, 6);
  out.writeUInt16BE(entry.authority.length, 8);
  out.writeUInt16BE(extrasCount + entry.additional.length + (opt ? 1 : 0), 10);
  let off = HEADER_LEN + req.copy(out, HEADER_LEN, HEADER_LEN, query.questionEnd);
  for (let i = 0; i < kept; i++) off += entry.answers[order[i]].copy(out, off);
  for (const r of entry.authority) off += r.copy(out, off);
  if (entry.extras) {
    for (let i = 0; i < kept; i++) for (const r of entry.extras[order[i]] ?? []) off += r.copy(out, off);
  }
  for (const r of entry.additional) off += r.copy(out, off);
  if (opt) writeOpt(out, off, ednsSize, 0, query.edns!.dnssecOk);
  return { message: out, truncated };
}
