import { describe, expect, it } from 'vitest';
import { SharedLock } from './shared-lock.js';

function gate(): { open(): void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('SharedLock', () => {
  it('shared holders run side by side; an exclusive one waits for them and runs alone', async () => {
    const lock = new SharedLock();
    const log: string[] = [];
    const a = gate();
    const b = gate();
    const s1 = lock.withShared(async () => {
      log.push('s1 in');
      await a.wait;
      log.push('s1 out');
    });
    const s2 = lock.withShared(async () => {
      log.push('s2 in');
      await b.wait;
      log.push('s2 out');
    });
    const ex = lock.withExclusive(() => {
      log.push('ex');
      return Promise.resolve();
    });
    await tick();
    expect(log).toEqual(['s1 in', 's2 in']);
    a.open();
    await s1;
    expect(log).not.toContain('ex');
    b.open();
    await Promise.all([s2, ex]);
    expect(log).toEqual(['s1 in', 's2 in', 's1 out', 's2 out', 'ex']);
  });

  it('a waiting exclusive holder goes before shared holders that come after it', async () => {
    const lock = new SharedLock();
    const log: string[] = [];
    const a = gate();
    const s1 = lock.withShared(async () => {
      await a.wait;
      log.push('s1');
    });
    const ex = lock.withExclusive(() => {
      log.push('ex');
      return Promise.resolve();
    });
    const s2 = lock.withShared(() => {
      log.push('s2');
      return Promise.resolve();
    });
    await tick();
    expect(log).toEqual([]);
    a.open();
    await Promise.all([s1, ex, s2]);
    expect(log).toEqual(['s1', 'ex', 's2']);
  });

  it('a failure releases the lock', async () => {
    const lock = new SharedLock();
    await expect(lock.withExclusive(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.withShared(() => Promise.resolve('ok'))).resolves.toBe('ok');
  });
});
