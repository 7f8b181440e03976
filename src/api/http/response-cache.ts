import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CacheEntry {
  /** Index of the data when the body was built. */
  index: number;
  /** Reads the data's current index (an O(1) map lookup in the catalog). */
  currentIndex: () => number;
  body: Buffer;
  headers: Record<string, string | number>;
  onHit: (startNs: bigint) => void;
  /**
   * False for answers that may be shared with blocking queries of the same shape but must not
   * be served before routing (a `?consistent` read first catches up with the store).
   */
  servable?: boolean;
}

/** What an entry costs: its body, its key, and a little for its headers and the map slot. */
const sizeOf = (key: string, e: CacheEntry): number => e.body.length + key.length + 256;

/**
 * Encoded answers of reads, keyed by the request URL without its `index` and `wait` parameters
 * (the query's shape: everything else in the URL can change the body) and valid while the index
 * of the data they came from has not moved.
 *
 * A plain read whose URL is a cached shape is written straight to the socket before Fastify
 * routes the request: the read path then costs a map lookup and an index comparison.
 * Blocking queries woken by the same change share the answer of their shape
 * ({@link ResponseCache.answer}): it is built and encoded once per shape and index however many
 * wait on it. Any change to
 * the data (a new store revision touching the service, node or table) moves its index, and
 * the next request rebuilds the answer.
 */
export class ResponseCache {
  private readonly entries = new Map<string, CacheEntry>();
  /** Shapes asked for once and not cached yet (bounded; emptied when full). */
  private readonly seen = new Set<string>();
  /** Bytes of the kept bodies and keys. */
  private kept = 0;
  hits = 0;
  misses = 0;
  /**
   * Whose view a request sees ('' for everyone's, an ACL token's accessor otherwise; undefined:
   * never serve this request from the cache). Answers are kept under the URL plus this.
   */
  identity: ((req: IncomingMessage) => string | undefined) | undefined;

  /** The key an answer to `shape` seen by `identity` is kept under. */
  static keyOf(shape: string, identity: string): string {
    return identity === '' ? shape : `${shape}\u0000${identity}`;
  }

  /**
   * At most `maxEntries` answers and `maxBytes` of them (default 64 MiB): a client asking for
   * many large answers (thousands of services, each URL twice) cannot grow the server past it.
   * An answer larger than a quarter of `maxBytes` is not kept at all.
   */
  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** Whether an answer to this URL may be served before routing: plain reads only (no blocking, no pretty, no consistent). */
  static cacheable(url: string): boolean {
    return !/[?&](index|consistent|pretty)(=|&|$)/.test(url);
  }

  /**
   * The shape of a query: its URL without the `index` and `wait` parameters, which say when to
   * answer, not what. Parameters keep their order; anything else, even unknown, stays in.
   */
  static shapeOf(url: string): string {
    const q = url.indexOf('?');
    if (q < 0 || !/[?&](index|wait)(=|&|$)/.test(url)) return url;
    let out = '';
    for (const part of url.slice(q + 1).split('&')) {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      if (name === 'index' || name === 'wait') continue;
      out += out === '' ? part : `&${part}`;
    }
    return out === '' ? url.slice(0, q) : `${url.slice(0, q)}?${out}`;
  }

  /**
   * Whether a plain read of this shape is worth keeping: true once it has been asked for before
   * (or is cached). A stream of URLs each asked once (a client appending a cache-buster) then
   * costs a set entry per URL instead of a kept 10 KB answer that only makes garbage.
   */
  askedBefore(shape: string): boolean {
    if (this.entries.has(shape) || this.seen.delete(shape)) return true;
    if (this.seen.size >= this.maxEntries) this.seen.clear();
    this.seen.add(shape);
    return false;
  }

  /** Stores an answer as the newest entry (an older one of the same key goes). */
  set(key: string, entry: CacheEntry): void {
    this.drop(key);
    const size = sizeOf(key, entry);
    if (size > this.maxBytes / 4) return;
    if (this.entries.size >= this.maxEntries || this.kept + size > this.maxBytes) this.evict(size);
    this.entries.set(key, entry);
    this.kept += size;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.kept -= sizeOf(key, e);
  }

  /**
   * Drops the oldest sixteenth of the entries in one pass, and more while `room` bytes would
   * not fit. One at a time, each eviction would start an iterator that steps over every slot
   * deleted before it (a Map keeps deleted slots at its front until it is rehashed): with a
   * stream of new URLs that scan cost more than building the answer.
   */
  private evict(room: number): void {
    let n = Math.max(1, this.maxEntries >> 4);
    for (const [k, e] of this.entries) {
      if (n <= 0 && this.kept + room <= this.maxBytes) break;
      this.entries.delete(k);
      this.kept -= sizeOf(k, e);
      n--;
    }
  }

  /** Bytes the kept answers take (bodies and keys). */
  get bytes(): number {
    return this.kept;
  }

  /** The cached answer of a shape at `index`, if one was built at that index and the data is still there. */
  answer(shape: string, index: number): CacheEntry | undefined {
    const e = this.entries.get(shape);
    return e !== undefined && e.index === index && e.currentIndex() === index ? e : undefined;
  }

  /** Answers from the cache if it can; false lets the request go on to Fastify. */
  tryServe(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    let url = req.url!;
    if (this.identity) {
      const id = this.identity(req);
      if (id === undefined) return false;
      url = ResponseCache.keyOf(url, id);
    }
    const e = this.entries.get(url);
    if (!e || e.servable === false) return false;
    if (e.currentIndex() !== e.index) {
      this.drop(url);
      this.misses++;
      return false;
    }
    const start = process.hrtime.bigint();
    this.hits++;
    res.writeHead(200, e.headers);
    res.end(e.body);
    e.onHit(start);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.seen.clear();
    this.kept = 0;
  }
}
