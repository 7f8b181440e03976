/**
 * Leases of the embedded store: the durable part (id and TTL) is staged for the next commit;
 * the expiry timer and the set of attached keys live in memory only. Like etcd after a leader
 * change, a reloaded lease starts again with its full TTL.
 *
 * Every change since the last commit is journalled, so a commit that fails can be undone
 * ({@link rollback}) and the table is again what is on disk; {@link settle} forgets the journal
 * once the commit is durable.
 */
export interface Lease {
  readonly id: string;
  readonly ttl: number;
  readonly keys: Set<string>;
  timer: NodeJS.Timeout;
  /** Its TTL ran out but deleting it did not reach the disk yet: it is gone for clients. */
  expired?: boolean;
}

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();
  /** Lease rows to write at the next commit: TTL, or null to delete. */
  readonly staged = new Map<string, number | null>();
  /** Undo steps of the changes since the last commit, oldest first. */
  private journal: Array<() => void> = [];

  /** @param onExpire called when a lease's timer runs out (it is still in the table then). */
  constructor(
    public nextId: number,
    private readonly onExpire: (id: string) => void,
  ) {}

  get size(): number {
    return this.leases.size;
  }

  /** Whether lease `id` exists for clients (not expired). */
  has(id: string): boolean {
    const lease = this.leases.get(id);
    return lease !== undefined && lease.expired !== true;
  }

  /** Creates a lease with a fresh id and stages its row. */
  grant(ttl: number): string {
    const id = String(this.nextId++);
    const lease = this.add(id, ttl);
    this.staged.set(id, ttl);
    // Ids are not handed out again: the counter keeps moving, as a failed grant never answered.
    this.journal.push(() => {
      clearTimeout(lease.timer);
      this.leases.delete(id);
    });
    return id;
  }

  /** Re-creates a lease read from disk, with its full TTL. */
  restore(id: string, ttl: number): void {
    this.add(id, ttl);
    const n = Number(id);
    if (Number.isSafeInteger(n) && n >= this.nextId) this.nextId = n + 1;
  }

  /** Restarts the lease's timer; returns its TTL, or undefined if there is no such lease. */
  keepAlive(id: string): number | undefined {
    const lease = this.leases.get(id);
    if (lease === undefined || lease.expired === true) return undefined;
    lease.timer.refresh();
    return lease.ttl;
  }

  /** Takes the lease out of the table (stopping its timer) and stages the row's deletion. */
  remove(id: string): Lease | undefined {
    const lease = this.leases.get(id);
    if (lease === undefined) return undefined;
    clearTimeout(lease.timer);
    this.leases.delete(id);
    this.staged.set(id, null);
    this.journal.push(() => {
      this.leases.set(id, lease);
      this.arm(lease, lease.ttl * 1000);
    });
    return lease;
  }

  /**
   * A lease whose expiry could not be written: it stays gone for clients (no keep-alive, no new
   * keys) and its expiry is tried again `ms` from now.
   */
  retryExpiry(id: string, ms: number): void {
    const lease = this.leases.get(id);
    if (lease === undefined) return;
    lease.expired = true;
    this.arm(lease, ms);
  }

  /** The keys attached to lease `id`, or undefined if there is no such lease. */
  keysOf(id: string): ReadonlySet<string> | undefined {
    return this.leases.get(id)?.keys;
  }

  attach(id: string, key: string): void {
    const keys = this.leases.get(id)?.keys;
    if (keys === undefined || keys.has(key)) return;
    keys.add(key);
    this.journal.push(() => keys.delete(key));
  }

  detach(id: string, key: string): void {
    const keys = this.leases.get(id)?.keys;
    if (keys?.delete(key) === true) this.journal.push(() => keys.add(key));
  }

  /** The staged changes are on disk: forget how to undo them. */
  settle(): void {
    this.staged.clear();
    this.journal = [];
  }

  /** The staged changes did not reach the disk: undo them, newest first. */
  rollback(): void {
    for (let i = this.journal.length - 1; i >= 0; i--) this.journal[i]();
    this.journal = [];
    this.staged.clear();
  }

  /** Stops every timer (the leases stay on disk). */
  stopTimers(): void {
    for (const lease of this.leases.values()) clearTimeout(lease.timer);
  }

  private add(id: string, ttl: number): Lease {
    const timer = setTimeout(() => this.onExpire(id), ttl * 1000);
    timer.unref();
    const lease = { id, ttl, keys: new Set<string>(), timer };
    this.leases.set(id, lease);
    return lease;
  }

  private arm(lease: Lease, ms: number): void {
    clearTimeout(lease.timer);
    lease.timer = setTimeout(() => this.onExpire(lease.id), ms);
    lease.timer.unref();
  }
}
