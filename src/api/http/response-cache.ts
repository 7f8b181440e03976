import type { IncomingMessage, ServerResponse } from 'node:http';

interface Entry {
  /** Index of the data when the body was built. */
  index: number;
  /** Reads the data's current index (an O(1) map lookup in the catalog). */
  currentIndex: () => number;
  body: Buffer;
  headers: Record<string, string | number>;
  onHit: (startNs: bigint) => void;
}

/**
 * Encoded answers of non-blocking reads, keyed by the request URL and valid while the index of
 * the data they came from has not moved. A hit is written straight to the socket before Fastify
 * routes the request: the read path then costs a map lookup and an index comparison. Any
 * change to the data (a new store revision touching the service, node or table) moves its
 * index, and the next request rebuilds the answer.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 10_000) {}

  /** Whether an answer to this URL may be cached: plain reads only (no blocking, no pretty, no consistent). */
  static cacheable(url: string): boolean {
    return !/[?&](index|consistent|pretty)(=|&|$)/.test(url);
  }

  set(url: string, entry: Entry): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(url, entry);
  }

  /** Answers from the cache if it can; false lets the request go on to Fastify. */
  tryServe(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    const url = req.url!;
    const e = this.entries.get(url);
    if (!e) return false;
    if (e.currentIndex() !== e.index) {
      this.entries.delete(url);
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
  }
}
