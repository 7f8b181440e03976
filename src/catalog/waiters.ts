import type { Topic } from './types.js';

type Wake = () => void;

export interface TopicWaitersOptions {
  /** Waiters woken per macrotask; between slices the event loop takes I/O. Default 64. */
  sliceSize?: number;
  /** Runs the next slice in a later macrotask (default setImmediate). */
  schedule?: (fn: () => void) => void;
}

/**
 * Blocking-query waiters grouped by topic. A change to a topic wakes (and forgets) every waiter
 * on it; waiters re-run their query and wait again if their index did not move.
 *
 * Waking is deferred: {@link TopicWaiters.notify} only queues the waiters, and they are woken
 * in a later macrotask, `sliceSize` at a time, first come first woken. The write that caused
 * the change is acknowledged first (its reply goes out in the microtasks of the current task),
 * and a fan-out to thousands of waiters leaves the event loop free between slices.
 */
export class TopicWaiters {
  private readonly byTopic = new Map<Topic, Set<Wake>>();
  private count = 0;
  private queue: Wake[] = [];
  private head = 0;
  private scheduled = false;
  private readonly sliceSize: number;
  private readonly schedule: (fn: () => void) => void;

  constructor(opts: TopicWaitersOptions = {}) {
    this.sliceSize = Math.max(1, opts.sliceSize ?? 64);
    this.schedule = opts.schedule ?? ((fn) => void setImmediate(fn));
  }

  get waiting(): number {
    return this.count;
  }

  /** Resolves 'changed' on a change to any topic, 'timeout' after timeoutMs, 'aborted' on signal. */
  wait(topics: readonly Topic[], timeoutMs: number, signal?: AbortSignal): Promise<'changed' | 'timeout' | 'aborted'> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve('aborted');
      let done = false;
      const finish = (why: 'changed' | 'timeout' | 'aborted') => {
        if (done) return;
        done = true;
        this.count--;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const t of topics) {
          const set = this.byTopic.get(t);
          if (set) {
            set.delete(wake);
            if (set.size === 0) this.byTopic.delete(t);
          }
        }
        resolve(why);
      };
      const wake: Wake = () => finish('changed');
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.count++;
      for (const t of topics) {
        let set = this.byTopic.get(t);
        if (!set) this.byTopic.set(t, (set = new Set()));
        set.add(wake);
      }
    });
  }

  /** Queues every waiter on these topics (as they are now) to be woken in a later macrotask. */
  notify(topics: Iterable<Topic>): void {
    let n = 0;
    for (const t of topics) {
      const set = this.byTopic.get(t);
      if (!set) continue;
      for (const w of set) this.queue.push(w);
      n += set.size;
    }
    if (n > 0) this.kick();
  }

  /** Queues every waiter (a re-list or stop: anything may have changed). */
  notifyAll(): void {
    for (const set of this.byTopic.values()) for (const w of set) this.queue.push(w);
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.head >= this.queue.length) return;
    this.scheduled = true;
    this.schedule(this.drain);
  }

  /** Wakes one slice (a waiter queued twice wakes once: the second call is a no-op). */
  private readonly drain = (): void => {
    this.scheduled = false;
    const end = Math.min(this.queue.length, this.head + this.sliceSize);
    const q = this.queue;
    for (let i = this.head; i < end; i++) q[i]();
    this.head = end;
    if (end >= q.length) {
      this.queue = [];
      this.head = 0;
    } else {
      // Under a steady stream of changes the queue may never run empty: drop the woken prefix.
      if (end > 4096 && end * 2 > q.length) {
        this.queue = q.slice(end);
        this.head = 0;
      }
      this.kick();
    }
  };
}
