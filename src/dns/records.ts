/**
 * Encodes single resource records with dns-packet into relocatable byte slices: the owner name
 * is written by hand, either in full or as a compression pointer into the question (which is
 * always at offset 12 and has the same label layout for every query that hits a cache entry),
 * so records can be reordered and dropped without re-encoding anything.
 */
import dnsPacket from 'dns-packet';
import { HEADER_LEN, MAX_LABEL, MAX_NAME_WIRE } from './wire.js';

/** The question name of a cache entry: lower-cased labels and their offsets inside the name. */
export interface QuestionName {
  labels: readonly string[];
  offsets: readonly number[];
}

/** True when every label of `name` is 1-63 bytes and the whole name fits 255 bytes. */
export function isValidName(name: string): boolean {
  const labels = name.split('.').filter(Boolean);
  let wire = 1;
  for (const l of labels) {
    const len = Buffer.byteLength(l);
    if (len === 0 || len > MAX_LABEL) return false;
    wire += len + 1;
  }
  return labels.length > 0 && wire <= MAX_NAME_WIRE;
}

/**
 * The wire form of an owner name, compressed against the question: the longest run of trailing
 * labels it shares with the question becomes a pointer (RFC 1035 4.1.4).
 */
export function ownerName(name: string, q: QuestionName): Buffer {
  const labels = name.split('.').filter(Boolean);
  const lower = labels.map((l) => l.toLowerCase());
  let shared = 0;
  while (shared < lower.length && shared < q.labels.length && lower[lower.length - 1 - shared] === q.labels[q.labels.length - 1 - shared]) shared++;
  const plain = labels.slice(0, labels.length - shared);
  const parts: Buffer[] = [];
  for (const l of plain) {
    const b = Buffer.from(l, 'utf8');
    parts.push(Buffer.from([b.length]), b);
  }
  if (shared > 0) {
    const at = HEADER_LEN + q.offsets[q.labels.length - shared];
    parts.push(Buffer.from([0xc0 | (at >> 8), at & 0xff]));
  } else {
    parts.push(Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

/** Pointer to the whole question name. */
export const QNAME_POINTER = Buffer.from([0xc0, HEADER_LEN]);

export type RecordData =
  | { type: 'A' | 'AAAA' | 'CNAME' | 'PTR' | 'NS'; data: string }
  | { type: 'SRV'; data: { priority: number; weight: number; port: number; target: string } }
  | { type: 'TXT'; data: Buffer[] }
  | { type: 'SOA'; data: dnsPacket.SoaData };

/** One encoded record: the owner bytes, then type, class IN, TTL, rdata (encoded by dns-packet). */
export function encodeRecord(owner: Buffer, ttl: number, rec: RecordData): Buffer {
  const packet = dnsPacket.encode({
    answers: [{ name: '.', type: rec.type, class: 'IN', ttl, data: rec.data } as dnsPacket.Answer],
  });
  // Header (12) + the root owner name (1) precede the fixed part and rdata.
  return Buffer.concat([owner, packet.subarray(HEADER_LEN + 1)]);
}

/** A TXT value split into character-strings of at most 255 bytes each. */
export function txtStrings(value: string): Buffer[] {
  const b = Buffer.from(value, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, Math.min(i + 255, b.length)));
  return out.length > 0 ? out : [Buffer.alloc(0)];
}
