import { afterEach, describe, expect, it, vi } from 'vitest';
import { BeaconClientError } from '../client/index.js';
import { canonicalJson, watchLoop, type WatchAnswer } from './watch-loop.js';

type Step = WatchAnswer | Error;

/** What the CLI turns a retryable 503 into: the server answered that it cannot serve now. */
class Unavailable extends Error {}

/** Runs the loop over a script of answers; the loop is stopped when the script runs out. */
function run(script: Step[], opts: { pollMs?: number } = {}) {
  const controller = new AbortController();
  const sent: number[] = [];
  const changes: unknown[] = [];
  const retries: number[] = [];
  let i = 0;
  const done = watchLoop({
    signal: controller.signal,
    backoff: { baseMs: 2, maxMs: 8 },
    pollMs: opts.pollMs ?? 1,
    random: () => 0.5,
    fetch(index) {
      sent.push(index);
      const step = script[i++];
      if (step === undefined) {
        controller.abort();
        return Promise.resolve({ index: 1, body: 'ignored' });
      }
      if (step instanceof Error) return Promise.reject(step);
      return Promise.resolve(step);
    },
    onChange: (body) => changes.push(body),
    onRetry: (_err, delayMs) => retries.push(delayMs),
    isFatal: (err) => err instanceof BeaconClientError && err.status === 400,
    isUnavailable: (err) => err instanceof Unavailable,
  });
  return Promise.resolve({ done, sent, changes, retries });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('watchLoop', () => {
  it('blocks on the last index, reports only changed bodies, and resets when the index goes backwards', async () => {
    const r = await run([
      { index: 5, body: ['a'] },
      { index: 5, body: ['a'] }, // the wait ran out: same answer
      { index: 7, body: ['a', 'b'] },
      { index: 3, body: ['a', 'b'] }, // restored store: index went backwards
      { index: 4, body: ['c'] },
    ]);
    await r.done;
    expect(r.sent).toEqual([0, 5, 5, 7, 0, 4]);
    expect(r.changes).toEqual([['a'], ['a', 'b'], ['c']]);
  });

  it('never blocks on index 0: an answer with index 0 blocks on 1', async () => {
    const r = await run([
      { index: 0, body: [] },
      { index: 2, body: [1] },
    ]);
    await r.done;
    expect(r.sent).toEqual([0, 1, 2]);
  });

  it('does not report a map whose keys came in another order', async () => {
    const r = await run([
      { index: 1, body: { web: ['v1'], api: [] } },
      { index: 2, body: { api: [], web: ['v1'] } },
    ]);
    await r.done;
    expect(r.changes).toHaveLength(1);
    expect(canonicalJson({ b: { d: 1, c: 2 }, a: [{ z: 1, y: 2 }] })).toBe('{"a":[{"y":2,"z":1}],"b":{"c":2,"d":1}}');
  });

  it('rejects when the first query fails: the server is not there', async () => {
    const r = await run([new Error('connect ECONNREFUSED')]);
    await expect(r.done).rejects.toThrow('ECONNREFUSED');
  });

  it('retries later failures with growing jittered back-off, starting over with a plain read', async () => {
    const r = await run([
      { index: 5, body: ['a'] },
      new Error('down'),
      new Error('down'),
      new Error('down'),
      { index: 9, body: ['b'] },
      { index: 10, body: ['c'] },
    ]);
    await r.done;
    expect(r.retries).toEqual([1.5, 3, 6]); // equal jitter with random() = 0.5: 3/4 of 2, 4, 8 ms
    expect(r.sent).toEqual([0, 5, 0, 0, 0, 9, 10]);
    expect(r.changes).toEqual([['a'], ['b'], ['c']]);
  });

  it('ends on a fatal error such as a 400', async () => {
    const r = await run([{ index: 5, body: [] }, new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', 'Invalid wait time', { status: 400 })]);
    await expect(r.done).rejects.toThrow('Invalid wait time');
  });

  it('polls, with a pause, a server that sends no index', async () => {
    vi.useFakeTimers();
    // pollMs 20, jittered ±20 % with random() = 0.5: a 20 ms pause after each answer.
    const r = await run(
      [
        { index: undefined, body: [1] },
        { index: undefined, body: [1] },
        { index: undefined, body: [2] },
      ],
      { pollMs: 20 },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(r.sent).toEqual([0]);
    // No spinning: the next read waits out the pause.
    await vi.advanceTimersByTimeAsync(19);
    expect(r.sent).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.sent).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(19);
    expect(r.sent).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.sent).toEqual([0, 0, 0]);
    await vi.advanceTimersByTimeAsync(20);
    await r.done;
    expect(r.sent).toEqual([0, 0, 0, 0]);
    expect(r.changes).toEqual([[1], [2]]);
  });

  it('retries a server that answers it is unavailable, even on the first query, and the failures that follow', async () => {
    // Shutting down (a retryable 503), then gone while it restarts, then back.
    const r = await run([new Unavailable('shutting down'), new Error('connect ECONNREFUSED'), { index: 3, body: ['a'] }, { index: 4, body: ['b'] }]);
    await r.done;
    expect(r.retries).toEqual([1.5, 3]);
    expect(r.sent).toEqual([0, 0, 0, 3, 4]);
    expect(r.changes).toEqual([['a'], ['b']]);
  });

  it('resolves at once when aborted during a query', async () => {
    const controller = new AbortController();
    const done = watchLoop({
      signal: controller.signal,
      fetch: (_index, signal) => new Promise((_res, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')))),
      onChange: () => {},
      onRetry: () => {},
      isFatal: () => false,
    });
    setTimeout(() => controller.abort(), 10);
    await expect(done).resolves.toBeUndefined();
  });
});
