/**
 * A store txn as an etcd TxnRequest.
 *
 * One difference needs care: the contract treats a missing key's value as '' (so
 * `value == ''` holds for a missing key), while etcd fails every value compare on a missing
 * key. A value compare that holds for '' is therefore split on whether the key exists, with
 * etcd's nested transactions (etcd 3.3 and later): one branch keeps the compare, the other
 * drops it, and both end in the same success and failure ops. The whole request is still one
 * transaction and one revision. Every other compare maps one to one. A txn without ops gets a
 * quorum read in each branch, so its compares see every acknowledged write (see planTxn).
 */
import { CompareResult, CompareTarget, type ICompare, type IRequestOp, type ITxnRequest, type ITxnResponse } from 'etcd3';
import { invalid } from '../../errors/index.js';
import type { Compare, TxnOp } from '../types.js';
import { bytes, prefixRange } from './codec.js';

/** Value compares a missing key satisfies, per txn: each doubles the request. */
export const MAX_MISSING_VALUE_COMPARES = 4;

const RESULTS: Record<Compare['op'], CompareResult> = {
  '==': CompareResult.Equal,
  '!=': CompareResult.NotEqual,
  '<': CompareResult.Less,
  '>': CompareResult.Greater,
};

function holds(actual: string, c: Compare): boolean {
  const v = c.value as string;
  switch (c.op) {
    case '==':
      return actual === v;
    case '!=':
      return actual !== v;
    case '<':
      return actual < v;
    default:
      return actual > v;
  }
}

/** A value compare that holds for a missing key (value ''), where etcd would say it fails. */
function holdsWhenMissing(c: Compare): boolean {
  return c.target === 'value' && holds('', c);
}

export function toCompare(c: Compare): ICompare {
  const key = bytes(c.key);
  const result = RESULTS[c.op];
  switch (c.target) {
    case 'value':
      return { key, result, target: CompareTarget.Value, value: bytes(c.value as string) };
    case 'version':
      return { key, result, target: CompareTarget.Version, version: c.value };
    case 'createRevision':
      return { key, result, target: CompareTarget.Create, create_revision: c.value };
    default:
      return { key, result, target: CompareTarget.Mod, mod_revision: c.value };
  }
}

export function toOp(op: TxnOp): IRequestOp {
  switch (op.type) {
    case 'put':
      return { request_put: { key: bytes(op.key), value: bytes(op.value), lease: op.lease ?? 0 } };
    case 'delete':
      return { request_delete_range: { key: bytes(op.key) } };
    default:
      return { request_delete_range: prefixRange(op.prefix) };
  }
}

/** A linearizable count of one key: makes a compare-only txn a quorum read. */
const QUORUM_READ: IRequestOp = { request_range: { key: Buffer.from([0]), count_only: true } };

export interface TxnPlan {
  request: ITxnRequest;
  /** Whether the contract's compares held, read from etcd's answer. */
  succeeded(res: ITxnResponse): boolean;
}

/** The etcd request for a txn whose compares, success and failure ops were checked already. */
export function planTxn(compares: readonly Compare[], success: readonly TxnOp[], failure: readonly TxnOp[]): TxnPlan {
  const split = compares.filter(holdsWhenMissing);
  const plain = compares.filter((c) => !holdsWhenMissing(c)).map(toCompare);
  const ifTrue = success.map(toOp);
  const ifFalse = failure.map(toOp);
  if (split.length === 0) {
    // etcd serves a txn whose branches hold only serializable reads — none at all included —
    // from the local member without a quorum check, so it may not see a write acknowledged a
    // moment ago. A linearizable read in each empty branch makes it a quorum read.
    if (ifTrue.length === 0 && ifFalse.length === 0) {
      ifTrue.push(QUORUM_READ);
      ifFalse.push(QUORUM_READ);
    }
    return { request: { compare: plain, success: ifTrue, failure: ifFalse }, succeeded: (res) => res.succeeded };
  }
  if (split.length > MAX_MISSING_VALUE_COMPARES) {
    throw invalid('compares', `a txn may hold at most ${MAX_MISSING_VALUE_COMPARES} value compares that a missing key satisfies`);
  }
  const build = (i: number, kept: ICompare[]): ITxnRequest => {
    if (i === split.length) return { compare: [...plain, ...kept], success: ifTrue, failure: ifFalse };
    const c = split[i];
    return {
      // The key exists: its value decides; it is missing: '' satisfies the compare.
      compare: [{ key: bytes(c.key), target: CompareTarget.Version, result: CompareResult.Greater, version: 0 }],
      success: [{ request_txn: build(i + 1, [...kept, toCompare(c)]) }],
      failure: [{ request_txn: build(i + 1, kept) }],
    };
  };
  return {
    request: build(0, []),
    succeeded: (res) => {
      let r = res;
      for (let i = 0; i < split.length; i++) r = r.responses[0].response_txn;
      return r.succeeded;
    },
  };
}
