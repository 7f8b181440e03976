import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { installShutdownHook, type SignalTarget } from './shutdown-signals.js';

class FakeProcess extends EventEmitter implements SignalTarget {
  readonly pid = 4242;
  kills: Array<[number, NodeJS.Signals]> = [];
  kill(pid: number, signal: NodeJS.Signals): boolean {
    this.kills.push([pid, signal]);
    return true;
  }
}

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

describe('deregister on SIGTERM/SIGINT', () => {
  it('deregisters, then re-raises the signal when the app has no handler of its own', async () => {
    const proc = new FakeProcess();
    const order: string[] = [];
    installShutdownHook(
      ['SIGTERM', 'SIGINT'],
      async (sig) => {
        order.push(`deregister ${sig}`);
        await tick(20);
        order.push('deregistered');
      },
      { timeoutMs: 1_000, log: silentLogger, target: proc },
    );
    proc.emit('SIGTERM', 'SIGTERM');
    expect(proc.kills).toEqual([]);
    await tick(60);
    expect(order).toEqual(['deregister SIGTERM', 'deregistered']);
    expect(proc.kills).toEqual([[4242, 'SIGTERM']]);
    // The hook removed itself from every signal, so the re-raised one takes the default action.
    expect(proc.listenerCount('SIGTERM')).toBe(0);
    expect(proc.listenerCount('SIGINT')).toBe(0);
  });

  it('leaves the exit to the app when it listens for the signal too', async () => {
    const proc = new FakeProcess();
    let appSaw = 0;
    proc.on('SIGINT', () => appSaw++);
    let deregistered = false;
    installShutdownHook(
      ['SIGTERM', 'SIGINT'],
      () => {
        deregistered = true;
        return Promise.resolve();
      },
      { timeoutMs: 1_000, log: silentLogger, target: proc },
    );
    proc.emit('SIGINT', 'SIGINT');
    await tick(30);
    expect(appSaw).toBe(1);
    expect(deregistered).toBe(true);
    expect(proc.kills).toEqual([]);
  });

  it('re-raises after the timeout when deregistration hangs, and after it fails', async () => {
    const proc = new FakeProcess();
    installShutdownHook(['SIGTERM'], () => new Promise<void>(() => {}), { timeoutMs: 50, log: silentLogger, target: proc });
    proc.emit('SIGTERM', 'SIGTERM');
    await tick(120);
    expect(proc.kills).toEqual([[4242, 'SIGTERM']]);

    const proc2 = new FakeProcess();
    installShutdownHook(['SIGTERM'], () => Promise.reject(new Error('registry down')), { timeoutMs: 1_000, log: silentLogger, target: proc2 });
    proc2.emit('SIGTERM', 'SIGTERM');
    await tick(30);
    expect(proc2.kills).toEqual([[4242, 'SIGTERM']]);
  });

  it('can be removed again', () => {
    const proc = new FakeProcess();
    const remove = installShutdownHook(['SIGTERM', 'SIGINT'], async () => {}, { timeoutMs: 10, log: silentLogger, target: proc });
    expect(proc.listenerCount('SIGTERM')).toBe(1);
    remove();
    remove();
    expect(proc.listenerCount('SIGTERM')).toBe(0);
    expect(proc.listenerCount('SIGINT')).toBe(0);
  });
});
