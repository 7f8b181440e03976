/**
 * What an etcd or gRPC failure means for Beacon, and the BeaconError a caller gets for it.
 *
 * etcd's errors arrive as gRPC statuses whose text carries etcd's own message
 * ("etcdserver: mvcc: database space exceeded"); the client turns them into a few error classes.
 * The one question that matters for a write is whether it may have been applied: a request
 * that never reached a member with a leader (no connection, the member knows no leader, the
 * breaker skipped every member) was not, and may be tried again on another member; one that
 * timed out or lost its connection on the way may have been, and is handed back to the caller
 * (BEACON_ERR_STORE_UNAVAILABLE, retryable) rather than applied twice.
 */
import { BeaconError } from '../../errors/index.js';

export type FailureKind =
  /** No answer: no connection, a timeout, no leader. `safe`: provably not applied. */
  | 'unreachable'
  /** etcd's NOSPACE alarm is raised: it takes no writes until an operator frees space. */
  | 'noSpace'
  | 'leaseNotFound'
  | 'compacted'
  | 'futureRevision'
  /** etcd refused the request itself (too large, too many txn ops, a key written twice). */
  | 'invalid'
  | 'other';

export interface Failure {
  kind: FailureKind;
  /** For 'unreachable': the request never reached a member that could apply it. */
  safe: boolean;
  /** One line: etcd's or gRPC's own words. */
  detail: string;
}

const NOT_SENT = [
  /No connection established/i,
  /ECONNREFUSED/,
  /ECONNRESET.*before/i,
  /etcdserver: no leader/,
  /etcdserver: not capable/,
  /etcdserver: too many requests/,
  /Connection pool has no hosts/,
  /Breaker is open/i,
  /circuit.*open/i,
  /Name resolution failed/i,
  /getaddrinfo/i,
];
const UNANSWERED = [
  /^\d+ (UNAVAILABLE|DEADLINE_EXCEEDED|CANCELLED|INTERNAL|UNKNOWN|ABORTED)\b/,
  /etcdserver: request timed out/,
  /etcdserver: leader changed/,
  /etcdserver: server stopped/,
  /etcdserver: timed out waiting for read index/,
  /etcdserver: request cancelled/,
  /Deadline exceeded/i,
  /stream ended/i,
  /Client is closed/i,
];
const INVALID = [
  /etcdserver: duplicate key given in txn request/,
  /etcdserver: too many operations in txn request/,
  /etcdserver: request is too large/,
  /etcdserver: key is not provided/,
  /etcdserver: lease TTL too large/,
  /message larger than max/i,
];

function detailOf(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/\s+/g, ' ').trim();
  return String(err);
}

/** Sorts an error from the etcd client into what it means here. */
export function classify(err: unknown): Failure {
  const detail = detailOf(err);
  const isBroken = typeof err === 'object' && err !== null && (err as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true;
  if (/database space exceeded|NOSPACE/.test(detail)) return { kind: 'noSpace', safe: false, detail };
  if (/requested lease not found/.test(detail)) return { kind: 'leaseNotFound', safe: false, detail };
  if (/required revision has been compacted/.test(detail)) return { kind: 'compacted', safe: false, detail };
  if (/required revision is a future revision/.test(detail)) return { kind: 'futureRevision', safe: false, detail };
  if (INVALID.some((re) => re.test(detail))) return { kind: 'invalid', safe: false, detail };
  if (isBroken || NOT_SENT.some((re) => re.test(detail))) return { kind: 'unreachable', safe: true, detail };
  if (UNANSWERED.some((re) => re.test(detail))) return { kind: 'unreachable', safe: false, detail };
  return { kind: 'other', safe: false, detail };
}

/** The text of a NOSPACE refusal, also used as the store's health `lastError`. */
export const NO_SPACE_TEXT =
  "etcd is out of space (its NOSPACE alarm is raised: mvcc database space exceeded); it takes no writes until an operator compacts and defragments it and disarms the alarm ('etcdctl alarm disarm')";

/**
 * The BeaconError for a failure of `what` (e.g. 'put "nodes/n1"') against `endpoints`.
 * `write`: the request may change the store, so an unanswered one may have been applied.
 */
export function toBeaconError(err: unknown, what: string, endpoints: readonly string[], opts: { write: boolean; timeoutMs: number }): BeaconError {
  if (err instanceof BeaconError) return err;
  const f = classify(err);
  const at = `etcd at ${endpoints.join(', ')}`;
  switch (f.kind) {
    case 'noSpace':
      return new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', `${what}: ${NO_SPACE_TEXT}`, { cause: err });
    case 'leaseNotFound':
      return new BeaconError('BEACON_ERR_LEASE_NOT_FOUND', `${what}: the lease is not known to etcd (it expired or was revoked)`, { cause: err });
    case 'compacted':
      return new BeaconError('BEACON_ERR_COMPACTED', `${what}: the revision asked for was compacted away by etcd (${f.detail})`, { cause: err });
    case 'futureRevision':
      return new BeaconError('BEACON_ERR_VALIDATION', `${what}: the revision is newer than etcd's current revision`, { field: 'revision', cause: err });
    case 'invalid':
      return new BeaconError('BEACON_ERR_VALIDATION', `${what}: etcd refused the request: ${f.detail}`, { cause: err });
    case 'unreachable': {
      const maybe = opts.write && !f.safe ? '; the write may or may not have been applied' : '';
      return new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', `${what}: cannot reach ${at} within ${opts.timeoutMs} ms (${f.detail})${maybe}`, { cause: err });
    }
    default:
      return new BeaconError('BEACON_ERR_INTERNAL', `${what}: ${at} answered with an unexpected error: ${f.detail}`, { cause: err });
  }
}
