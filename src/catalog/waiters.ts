import type { Topic } from './types.js';

type Wake = () => void;

/**
 * Blocking-query waiters grouped by topic. A change to a topic wakes (and forgets) every waiter
 * on it; waiters re-run their query and wait again if their index did not move.
 */
export class TopicWaiters {
  private readonly byTopic = new Map<Topic, Set<Wake>>();
  private count = 0;

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

  notify(topics: Iterable<Topic>): void {
    const wakes: Wake[] = [];
    for (const t of topics) {
      const set = this.byTopic.get(t);
      if (set) for (const w of set) wakes.push(w);
    }
    for (const w of wakes) w();
  }

  notifyAll(): void {
    const wakes: Wake[] = [];
    for (const set of this.byTopic.values()) for (const w of set) wakes.push(w);
    for (const w of wakes) w();
  }
}
