/**
 * Runs one store call against etcd: bounded by a deadline, retried where that is safe, its
 * outcome reported to the health tracker, its failure turned into a BeaconError.
 *
 * Two kinds of call:
 * - `idempotent` (reads, lease grant/revoke/keep-alive, compaction): tried again on another
 *   member, with jittered back-off, on any failure to get an answer, until the deadline; each
 *   try gets at most half of it, so one silent member cannot use it all.
 * - `once` (put, delete, txn: each must bump the revision once): tried again only when the
 *   request provably never reached a member that could apply it (no connection, no leader);
 *   one that timed out or lost its connection is reported, never sent twice.
 */
import type { CallOptions } from '@grpc/grpc-js';
import type { BeaconError } from '../../errors/index.js';
import { classify, toBeaconError } from './etcd-errors.js';
import { jittered, type EtcdHealth } from './etcd-health.js';

export interface CallKind {
  /** Safe to send again after any failure to get an answer. */
  idempotent: boolean;
  /** Success proves etcd takes writes (ends a NOSPACE outage). */
  proofOfWrite?: boolean;
  /** Whether the call may change the store (its error says it may have been applied). */
  write?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EtcdCalls {
  constructor(
    readonly endpoints: readonly string[],
    readonly timeoutMs: number,
    private readonly health: EtcdHealth,
    /** The error for a call made or failing after close, or undefined while open. */
    private readonly closed: () => BeaconError | undefined,
  ) {}

  /** Runs `fn` (given its gRPC call options, with the deadline of this try) as a call of `kind`. */
  async run<T>(what: string, kind: CallKind, fn: (opts: CallOptions) => Promise<T>): Promise<T> {
    const start = Date.now();
    const deadline = start + this.timeoutMs;
    const tryMs = kind.idempotent ? Math.max(1000, this.timeoutMs / 2) : this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const closed = this.closed();
      if (closed !== undefined) throw closed;
      try {
        const res = await fn({ deadline: Math.min(deadline, Date.now() + tryMs) });
        this.health.contact(kind.proofOfWrite === true);
        return res;
      } catch (err) {
        const closedNow = this.closed();
        if (closedNow !== undefined) throw closedNow;
        const f = classify(err);
        const pause = jittered(Math.min(1000, 50 * 2 ** attempt));
        const again = f.kind === 'unreachable' && (kind.idempotent || f.safe) && Date.now() + pause < deadline - 50;
        if (again) {
          await sleep(pause);
          continue;
        }
        if (f.kind === 'unreachable' || f.kind === 'noSpace') this.health.failed(f);
        else this.health.contact(false);
        throw toBeaconError(err, what, this.endpoints, { write: kind.write === true, timeoutMs: this.timeoutMs });
      }
    }
  }
}
