/**
 * Conversions between the store contract's shapes and etcd's wire shapes: keys and values are
 * UTF-8 bytes, revisions and lease ids decimal strings (int64 on the wire).
 */
import type { IKeyValue } from 'etcd3';
import { NO_LEASE, type KeyValue } from '../types.js';

/** The bytes of a key or value. */
export function bytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** etcd's `range_end` for a prefix: the prefix with its last byte below 0xff raised by one; '\0' (every key) for ''. */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** The key and range end covering every key that starts with `prefix` ('' covers all). */
export function prefixRange(prefix: string): { key: Buffer; range_end: Buffer } {
  const key = prefix === '' ? Buffer.from([0]) : bytes(prefix);
  return { key, range_end: prefixEnd(prefix === '' ? Buffer.alloc(0) : key) };
}

/** An int64 from the wire (a decimal string, or a number for small values) as a number. */
export function num(v: string | number | null | undefined): number {
  if (v === null || v === undefined || v === '') return 0;
  return typeof v === 'number' ? v : Number(v);
}

/** A lease id from the wire, as the contract's decimal string ('0': none). */
export function leaseOf(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return NO_LEASE;
  return String(v);
}

export function decodeKv(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value === null || kv.value === undefined ? '' : kv.value.toString('utf8'),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
    lease: leaseOf(kv.lease),
  };
}

/** Any UTF-16 surrogate: a character at or above U+10000. */
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Puts keys in JavaScript string order, as the embedded driver sorts them. etcd sorts bytes
 * (code point order), which differs only where a key holds a character at or above U+10000;
 * so the result is re-sorted only when one does.
 */
export function inStringOrder(kvs: KeyValue[]): KeyValue[] {
  if (!kvs.some((kv) => SURROGATE.test(kv.key))) return kvs;
  return kvs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
