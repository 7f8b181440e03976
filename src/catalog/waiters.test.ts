import { describe, expect, it } from 'vitest';
import { TopicWaiters } from './waiters.js';

const immediate = () => new Promise<void>((r) => setImmediate(r));
const microtasks = async () => {
  for (let k = 0; k < 20; k++) await Promise.resolve();
};

describe('TopicWaiters', () => {
  it('wakes the waiters of a topic in a later macrotask, not in the notifying one', async () => {
    const w = new TopicWaiters();
    const woken: string[] = [];
    const a = w.wait(['svc:web'], 5000).then((why) => woken.push(`a:${why}`));
    const b = w.wait(['svc:web', 'node:n1'], 5000).then((why) => woken.push(`b:${why}`));
    const other = w.wait(['svc:db'], 50).then((why) => woken.push(`db:${why}`));
    w.notify(['svc:web', 'node:n1']);
    await microtasks();
    expect(woken).toEqual([]);
    await Promise.all([a, b]);
    expect(woken).toEqual(['a:changed', 'b:changed']);
    await other;
    expect(woken).toContain('db:timeout');
    expect(w.waiting).toBe(0);
  });

  it('wakes a large fan-out in slices, first come first woken, and the event loop runs between them', async () => {
    const w = new TopicWaiters({ sliceSize: 10 });
    const woken: number[] = [];
    const all = Array.from({ length: 35 }, (_, k) => w.wait(['svc:web'], 5000).then(() => woken.push(k)));
    w.notify(['svc:web']);
    await immediate();
    expect(woken).toEqual(Array.from({ length: 10 }, (_, k) => k));
    await immediate();
    expect(woken).toHaveLength(20);
    await Promise.all(all);
    expect(woken).toEqual(Array.from({ length: 35 }, (_, k) => k));
  });

  it('a waiter that gave up before its slice is not woken, and one that came after the change is not woken by it', async () => {
    const w = new TopicWaiters();
    const ac = new AbortController();
    const gone = w.wait(['svc:web'], 5000, ac.signal);
    w.notify(['svc:web']);
    ac.abort();
    expect(await gone).toBe('aborted');
    const late = w.wait(['svc:web'], 100);
    expect(await late).toBe('timeout');
  });

  it('notifyAll wakes every waiter', async () => {
    const w = new TopicWaiters();
    const list = [w.wait(['svc:a'], 5000), w.wait(['node:b'], 5000), w.wait(['table:nodes'], 5000)];
    w.notifyAll();
    expect(await Promise.all(list)).toEqual(['changed', 'changed', 'changed']);
  });
});
