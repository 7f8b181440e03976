/**
 * A shared/exclusive lock for promises. Agent writes on this server's node hold it shared (they
 * run side by side, as before); an anti-entropy pass holds it exclusively, so it never compares
 * the catalog with a local state that a write has changed but not yet written to the catalog.
 * A waiting exclusive holder goes before shared holders that come after it, so a stream of
 * writes cannot hold anti-entropy off.
 */
export class SharedLock {
  private shared = 0;
  private exclusive = false;
  private readonly waitingExclusive: Array<() => void> = [];
  private waitingShared: Array<() => void> = [];

  async withShared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.waitingExclusive.length > 0) await new Promise<void>((r) => this.waitingShared.push(r));
    else this.shared++;
    try {
      return await fn();
    } finally {
      this.shared--;
      this.next();
    }
  }

  async withExclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.shared > 0) await new Promise<void>((r) => this.waitingExclusive.push(r));
    else this.exclusive = true;
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.next();
    }
  }

  /** Hands the lock on: to the next exclusive waiter once no one holds it, else to every shared waiter. */
  private next(): void {
    if (this.exclusive || this.shared > 0) return;
    const ex = this.waitingExclusive.shift();
    if (ex) {
      this.exclusive = true;
      ex();
      return;
    }
    const waiting = this.waitingShared;
    this.waitingShared = [];
    this.shared += waiting.length;
    for (const r of waiting) r();
  }
}
