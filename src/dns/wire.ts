/**
 * The part of the DNS wire format the hot path reads by hand: the 12-byte header, the one
 * question and the EDNS0 OPT record. Nothing else of a query is decoded; answers are built from
 * pre-encoded records (see assemble.ts). Every read is bounds-checked: a query that breaks a
 * rule is classified as `drop` (not worth an answer) or `formerr`, never an exception.
 */

export const HEADER_LEN = 12;
/** Largest query accepted (UDP or TCP); real queries are well under 512 bytes. */
export const MAX_QUERY_BYTES = 4096;
/** RFC 1035: a name is at most 255 bytes on the wire, a label at most 63. */
export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;
/** Largest UDP payload advertised or honoured with EDNS0 (the issue caps it at 4096). */
export const MAX_EDNS_SIZE = 4096;
export const MIN_UDP_SIZE = 512;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_CD = 0x0010;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RcodeName = keyof typeof RCODE;
export const RCODE_NAMES: readonly RcodeName[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
/** Extended rcode BADVERS (16): the upper 8 bits go in the OPT record's TTL. */
export const RCODE_BADVERS = 16;

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;

/** EDNS0 data from the query's OPT record. */
export interface Edns {
  /** Requestor's UDP payload size as sent (may be below 512). */
  size: number;
  version: number;
  /** The DNSSEC OK bit, copied into the answer's OPT (RFC 3225). */
  dnssecOk: boolean;
}

/** A query whose header and question were read. */
export interface ParsedQuery {
  id: number;
  /** Header flags word of the query. */
  flags: number;
  qtype: number;
  qclass: number;
  /** Offset just past the question (name + type + class). */
  questionEnd: number;
  /** Offset just past the question name. */
  nameEnd: number;
  /**
   * Cache key: the question name with ASCII letters lower-cased, then type and class, as a
   * latin1 string of the wire bytes (unambiguous, cheap to build).
   */
  key: string;
  edns: Edns | undefined;
}

export type ParseResult =
  | { kind: 'query'; query: ParsedQuery }
  /** Not answered at all: too short to hold an ID, a response, or over the size bound. */
  | { kind: 'drop'; reason: string }
  /** Answered with this rcode and no question (the question could not be read). */
  | { kind: 'error'; id: number; flags: number; rcode: number; reason: string };

const scratch = Buffer.allocUnsafe(MAX_NAME_WIRE + 4);

/** Skips a possibly compressed name; returns the offset after it or -1. */
function skipName(buf: Buffer, off: number): number {
  let wire = 0;
  for (;;) {
    if (off >= buf.length) return -1;
    const len = buf[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) return -1;
    off += len + 1;
  }
}

/** Skips one resource record; returns the offset after it or -1. */
function skipRecord(buf: Buffer, off: number): number {
  const n = skipName(buf, off);
  if (n < 0 || n + 10 > buf.length) return -1;
  const end = n + 10 + buf.readUInt16BE(n + 8);
  return end <= buf.length ? end : -1;
}

/**
 * Reads the header, the question and any OPT record of a query.
 *
 * @example
 * const r = parseQuery(msg);
 * if (r.kind === 'query') cache.get(r.query.key);
 */
export function parseQuery(buf: Buffer): ParseResult {
  if (buf.length < HEADER_LEN) return { kind: 'drop', reason: 'shorter than a DNS header' };
  if (buf.length > MAX_QUERY_BYTES) return { kind: 'drop', reason: `larger than ${MAX_QUERY_BYTES} bytes` };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & FLAG_QR) return { kind: 'drop', reason: 'a response, not a query' };
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0) return { kind: 'error', id, flags, rcode: RCODE.NOTIMP, reason: `opcode ${opcode} is not supported` };
  if (buf.readUInt16BE(4) !== 1) return { kind: 'error', id, flags, rcode: RCODE.FORMERR, reason: 'a query must hold exactly one question' };

  // Question name: plain labels only (a query has nothing to point back to).
  let off = HEADER_LEN;
  let w = 0;
  for (;;) {
    if (off >= buf.length) return formerr(id, flags, 'question name runs past the end of the packet');
    const len = buf[off];
    if (len === 0) break;
    if (len > MAX_LABEL) return formerr(id, flags, 'compressed or over-long label in the question');
    if (off + 1 + len > buf.length) return formerr(id, flags, 'question label runs past the end of the packet');
    if (w + len + 1 + 1 > MAX_NAME_WIRE) return formerr(id, flags, 'question name longer than 255 bytes');
    scratch[w++] = len;
    for (let i = off + 1, end = off + 1 + len; i < end; i++) {
      const c = buf[i];
      scratch[w++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    off += len + 1;
  }
  scratch[w++] = 0;
  const nameEnd = off + 1;
  const questionEnd = nameEnd + 4;
  if (questionEnd > buf.length) return formerr(id, flags, 'question type/class missing');
  const qtype = buf.readUInt16BE(nameEnd);
  const qclass = buf.readUInt16BE(nameEnd + 2);
  buf.copy(scratch, w, nameEnd, questionEnd);
  const key = scratch.toString('latin1', 0, w + 4);

  // Answer and authority records are skipped; the additional section may hold one OPT.
  const skip = buf.readUInt16BE(6) + buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  off = questionEnd;
  for (let i = 0; i < skip; i++) {
    off = skipRecord(buf, off);
    if (off < 0) return formerr(id, flags, 'answer or authority section is malformed');
  }
  let edns: Edns | undefined;
  for (let i = 0; i < arcount; i++) {
    const start = off;
    off = skipRecord(buf, off);
    if (off < 0) return formerr(id, flags, 'additional section is malformed');
    if (buf[start] === 0 && buf.readUInt16BE(start + 1) === TYPE.OPT) {
      if (edns) return formerr(id, flags, 'more than one OPT record');
      edns = { size: buf.readUInt16BE(start + 3), version: buf[start + 6], dnssecOk: (buf[start + 7] & 0x80) !== 0 };
    } else if (buf.readUInt16BE(skipName(buf, start)) === TYPE.OPT) {
      return formerr(id, flags, 'OPT record with a non-root owner');
    }
  }
  return { kind: 'query', query: { id, flags, qtype, qclass, questionEnd, nameEnd, key, edns } };
}

function formerr(id: number, flags: number, reason: string): ParseResult {
  return { kind: 'error', id, flags, rcode: RCODE.FORMERR, reason };
}

/** Splits the lower-cased wire name at the front of a cache key into labels (UTF-8). */
export function keyLabels(key: string): string[] {
  const bytes = Buffer.from(key, 'latin1');
  const labels: string[] = [];
  let off = 0;
  while (off < bytes.length && bytes[off] !== 0) {
    const len = bytes[off];
    labels.push(bytes.toString('utf8', off + 1, off + 1 + len));
    off += len + 1;
  }
  return labels;
}

/** Byte length of each label on the wire, in key order (for compression pointers). */
export function keyLabelOffsets(key: string): number[] {
  const offsets: number[] = [];
  let off = 0;
  while (off < key.length && key.charCodeAt(off) !== 0) {
    offsets.push(off);
    off += key.charCodeAt(off) + 1;
  }
  return offsets;
}

/** The UDP payload size an answer may use: 512 without EDNS0, else the client's size in [512, 4096]. */
export function udpLimit(edns: Edns | undefined): number {
  if (!edns) return MIN_UDP_SIZE;
  return Math.min(Math.max(edns.size, MIN_UDP_SIZE), MAX_EDNS_SIZE);
}

export const OPT_BYTES = 11;

/** Writes the 11-byte OPT record of an answer at `off`: our payload size, extended rcode bits, DO copied. */
export function writeOpt(out: Buffer, off: number, size: number, extRcode: number, dnssecOk: boolean): number {
  out[off] = 0;
  out.writeUInt16BE(TYPE.OPT, off + 1);
  out.writeUInt16BE(size, off + 3);
  out[off + 5] = extRcode >> 4;
  out[off + 6] = 0;
  out[off + 7] = dnssecOk ? 0x80 : 0;
  out[off + 8] = 0;
  out.writeUInt16BE(0, off + 9);
  return off + OPT_BYTES;
}

/** Response flags for a query: QR, opcode 0, RD and CD copied, the given AA/TC/RA bits and rcode. */
export function responseFlags(queryFlags: number, aa: boolean, tc: boolean, ra: boolean, rcode: number): number {
  return FLAG_QR | (queryFlags & (FLAG_RD | FLAG_CD)) | (aa ? FLAG_AA : 0) | (tc ? FLAG_TC : 0) | (ra ? FLAG_RA : 0) | (rcode & 0xf);
}

/**
 * A bare answer with no records: echoes the question when it was read (`query`), else only the
 * header. Used for FORMERR, NOTIMP, REFUSED, SERVFAIL and BADVERS.
 */
export function bareResponse(buf: Buffer, id: number, queryFlags: number, rcode: number, ra: boolean, query?: ParsedQuery): Buffer {
  const qlen = query ? query.questionEnd - HEADER_LEN : 0;
  const edns = query?.edns;
  const out = Buffer.allocUnsafe(HEADER_LEN + qlen + (edns ? OPT_BYTES : 0));
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(responseFlags(queryFlags, false, false, ra, rcode), 2);
  out.writeUInt16BE(query ? 1 : 0, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  if (query) buf.copy(out, HEADER_LEN, HEADER_LEN, query.questionEnd);
  if (edns) writeOpt(out, HEADER_LEN + qlen, udpLimit(edns), rcode, edns.dnssecOk);
  return out;
}
