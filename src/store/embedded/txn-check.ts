/**
 * Validation of store requests and evaluation of txn compares, kept apart from the store so the
 * rules read in one place. Bad input throws BEACON_ERR_VALIDATION and changes nothing.
 */
import { BeaconError, invalid } from '../../errors/index.js';
import type { Compare, TxnOp } from '../types.js';
import type { KeyMeta } from './key-space.js';

/** Longest TTL a lease may have: what one Node.js timer can wait (about 24.8 days). */
export const MAX_LEASE_TTL_SECONDS = Math.floor(0x7fffffff / 1000);

export function checkKey(key: unknown, field = 'key'): asserts key is string {
  if (typeof key !== 'string' || key === '') throw invalid(field, `${field} must be a non-empty string`);
}

export function checkValue(value: unknown, field = 'value'): asserts value is string {
  if (typeof value !== 'string') throw invalid(field, `${field} must be a string`);
}

export function checkPrefix(prefix: unknown, field = 'prefix'): asserts prefix is string {
  if (typeof prefix !== 'string') throw invalid(field, `${field} must be a string`);
}

export function checkTtl(ttl: unknown): asserts ttl is number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL_SECONDS) {
    throw invalid('ttl', `ttl must be a whole number of seconds from 1 to ${MAX_LEASE_TTL_SECONDS}`);
  }
}

export function checkRevision(revision: unknown, field: string): asserts revision is number {
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) {
    throw invalid(field, `${field} must be a whole number >= 0`);
  }
}

const TARGETS = new Set(['value', 'version', 'createRevision', 'modRevision']);
const OPS = new Set(['==', '!=', '<', '>']);

/**
 * Checks a txn's compares and both op lists: known targets and ops, valid keys, and — as etcd
 * requires — no key written twice in one branch and no put inside a deleted prefix.
 */
export function checkTxn(compares: readonly Compare[], success: readonly TxnOp[], failure: readonly TxnOp[]): void {
  // Not Array.isArray on the arguments themselves: as a type guard it would make them any[].
  const isArray = (v: unknown): boolean => Array.isArray(v);
  if (!isArray(compares) || !isArray(success) || !isArray(failure)) {
    throw invalid('txn', 'compares, success and failure must be arrays');
  }
  compares.forEach((c, i) => {
    checkKey(c.key, `compares[${i}].key`);
    if (!TARGETS.has(c.target)) throw invalid(`compares[${i}].target`, 'target must be value, version, createRevision or modRevision');
    if (!OPS.has(c.op)) throw invalid(`compares[${i}].op`, "op must be '==', '!=', '<' or '>'");
    if (c.target === 'value' ? typeof c.value !== 'string' : typeof c.value !== 'number' || !Number.isFinite(c.value)) {
      throw invalid(`compares[${i}].value`, c.target === 'value' ? 'a value compare takes a string' : `a ${c.target} compare takes a number`);
    }
  });
  checkOps(success, 'success');
  checkOps(failure, 'failure');
}

function checkOps(ops: readonly TxnOp[], branch: string): void {
  const written = new Set<string>();
  const prefixes: string[] = [];
  const puts: string[] = [];
  ops.forEach((op, i) => {
    const field = `${branch}[${i}]`;
    if (op.type === 'put' || op.type === 'delete') {
      checkKey(op.key, `${field}.key`);
      if (op.type === 'put') {
        checkValue(op.value, `${field}.value`);
        puts.push(op.key);
      }
      if (written.has(op.key)) throw invalid(`${field}.key`, `a txn may write key ${JSON.stringify(op.key)} only once`);
      written.add(op.key);
    } else if (op.type === 'deletePrefix') {
      checkPrefix(op.prefix, `${field}.prefix`);
      prefixes.push(op.prefix);
    } else {
      throw invalid(`${field}.type`, 'op type must be put, delete or deletePrefix');
    }
  });
  for (const key of puts) {
    if (prefixes.some((p) => key.startsWith(p))) throw invalid(branch, `a txn may not put ${JSON.stringify(key)} and delete a prefix covering it`);
  }
}

/**
 * Whether `c` holds for the key's state `kv` (undefined: a missing key — version and revisions
 * 0, value ''). `value` returns the key's value; it is called only for a value compare, since
 * the key space keeps values of committed keys on disk.
 */
export function compareHolds(c: Compare, kv: KeyMeta | undefined, value: () => string): boolean {
  let actual: string | number;
  switch (c.target) {
    case 'value':
      actual = value();
      break;
    case 'version':
      actual = kv?.version ?? 0;
      break;
    case 'createRevision':
      actual = kv?.createRevision ?? 0;
      break;
    case 'modRevision':
      actual = kv?.modRevision ?? 0;
      break;
    default:
      throw new BeaconError('BEACON_ERR_VALIDATION', `unknown compare target ${String(c.target)}`);
  }
  switch (c.op) {
    case '==':
      return actual === c.value;
    case '!=':
      return actual !== c.value;
    case '<':
      return actual < c.value;
    case '>':
      return actual > c.value;
    default:
      return false;
  }
}
