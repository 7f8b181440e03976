/**
 * Helpers for store tests: a recording watch, an error-code assertion, and a neighbour that
 * keeps writing to a shared store. Used by the contract suite and by drivers' own tests.
 */
import { expect, vi } from 'vitest';
import { isBeaconError, type ErrorCode } from '../errors/index.js';
import type { Store, WatchBatch, WatchOptions } from './types.js';

/** A watch that records what it gets, with waits bounded in time. */
export interface Recorder {
  batches: WatchBatch[];
  error: Error | undefined;
  cancel(): void;
  /** Waits until the recorded batches reach `revision` (or fails after `timeoutMs`). */
  untilRevision(revision: number, timeoutMs?: number): Promise<void>;
  untilError(timeoutMs?: number): Promise<Error>;
}

export function record(store: Store, opts: Omit<WatchOptions, 'onBatch' | 'onError'>): Recorder {
  const rec: Recorder = {
    batches: [],
    error: undefined,
    cancel: () => handle.cancel(),
    untilRevision: (revision, timeoutMs = 10_000) =>
      vi.waitFor(() => expect(rec.batches.at(-1)?.revision ?? 0).toBeGreaterThanOrEqual(revision), { timeout: timeoutMs, interval: 5 }).then(() => undefined),
    untilError: (timeoutMs = 10_000) =>
      vi.waitFor(
        () => {
          expect(rec.error).toBeDefined();
          return rec.error!;
        },
        { timeout: timeoutMs, interval: 5 },
      ),
  };
  const handle = store.watch({
    ...opts,
    onBatch: (b) => rec.batches.push(b),
    onError: (e) => (rec.error = e),
  });
  return rec;
}

export async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with ${code}`).toBeDefined();
  expect(isBeaconError(err) ? err.code : err).toBe(code);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Neighbour {
  /** Writes made so far. */
  readonly writes: number;
  /** Stops writing, waits for the write in flight, and rejects if any write failed. */
  stop(): Promise<void>;
}

/**
 * Another writer on a shared store: keeps putting, overwriting, deleting (directly, by prefix
 * and in txns) and attaching keys to a lease under `prefix`, a few milliseconds apart
 * (jittered), until stopped or `maxWrites` is reached. Resolves once its first write is
 * acknowledged, so a test starts with the neighbour already moving. Stop it in afterEach.
 *
 * @example
 * const neighbour = await startNeighbour(namespaced(inner, 'neighbour/'), '');
 * // ... tests on another namespace of `inner` ...
 * await neighbour.stop();
 */
export async function startNeighbour(store: Store, prefix: string, opts: { maxWrites?: number } = {}): Promise<Neighbour> {
  const maxWrites = opts.maxWrites ?? 5000;
  const lease = await store.grant(60);
  let writes = 0;
  let stopped = false;
  /** What the write loop threw (boxed: a thrown value may be anything). */
  let failure: { err: unknown } | undefined;
  const step = async (i: number): Promise<unknown> => {
    const key = `${prefix}k/${i % 16}`;
    switch (i % 5) {
      case 0:
        return store.put(key, String(i));
      case 1:
        return store.put(key, String(i), { lease });
      case 2:
        return store.delete(key);
      case 3:
        return store.txn([{ key, target: 'version', op: '>', value: 0 }], [{ type: 'delete', key }], [{ type: 'put', key, value: String(i) }]);
      default:
        return store.deletePrefix(`${prefix}k/1`);
    }
  };
  await step(writes++);
  const loop = (async () => {
    while (!stopped && writes < maxWrites) {
      await sleep(1 + Math.random() * 4);
      if (!stopped) await step(writes++);
    }
  })().catch((err: unknown) => {
    failure = { err };
  });
  return {
    get writes() {
      return writes;
    },
    stop: async () => {
      stopped = true;
      await loop;
      await store.revoke(lease);
      if (failure !== undefined) throw failure.err;
    },
  };
}
