/**
 * Leases of the embedded store: the durable part (id and TTL) is staged for the next commit;
 * the expiry timer and the set of attached keys live in memory only. Like etcd after a leader
 * change, a reloaded lease starts again with its full TTL.
 */
export interface Lease {
  readonly id: string;
  readonly ttl: number;
  readonly keys: Set<string>;
  timer: NodeJS.Timeout;
}

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();
  /** Lease rows to write at the next commit: TTL, or null to delete. */
  readonly staged = new Map<string, number | null>();

  /** @param onExpire called when a lease's timer runs out (it is still in the table then). */
  constructor(
    public nextId: number,
    private readonly onExpire: (id: string) => void,
  ) {}

  get size(): number {
    return this.leases.size;
  }

  has(id: string): boolean {
    return this.leases.has(id);
  }

  /** Creates a lease with a fresh id and stages its row. */
  grant(ttl: number): string {
    const id = String(this.nextId++);
    this.add(id, ttl);
    this.staged.set(id, ttl);
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
    if (lease === undefined) return undefined;
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
    return lease;
  }

  /** The keys attached to lease `id`, or undefined if there is no such lease. */
  keysOf(id: string): ReadonlySet<string> | undefined {
    return this.leases.get(id)?.keys;
  }

  attach(id: string, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: string, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /** Stops every timer (the leases stay on disk). */
  stopTimers(): void {
    for (const lease of this.leases.values()) clearTimeout(lease.timer);
  }

  private add(id: string, ttl: number): void {
    const timer = setTimeout(() => this.onExpire(id), ttl * 1000);
    timer.unref();
    this.leases.set(id, { id, ttl, keys: new Set(), timer });
  }
}
