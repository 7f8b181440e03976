/**
 * Token buckets by key (a client address, a client prefix), for the limits that keep one client
 * from crowding out the rest: each key may take `rate` tokens a second, holding at most one
 * second of credit. The table is bounded: past `maxKeys` the longest-tracked key is forgotten
 * (a key at rest holds full credit, so forgetting it loses nothing).
 *
 * @example
 * const writes = new TokenBuckets(50);
 * const waitMs = writes.take(req.socket.remoteAddress ?? '');
 * if (waitMs > 0) reply.header('Retry-After', Math.ceil(waitMs / 1000)).code(429);
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly maxKeys: number;

  constructor(
    /** Tokens per second per key; 0 or less: every take succeeds. */
    readonly rate: number,
    maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.maxKeys = Math.max(1, maxKeys);
  }

  /** Keys tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token for `key`: 0 when there was one, else the milliseconds until there will be. */
  take(key: string): number {
    if (this.rate <= 0) return 0;
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.rate, at: now };
      this.buckets.set(key, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.rate, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - b.tokens) / this.rate) * 1000));
  }
}
