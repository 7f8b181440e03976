import type { DataFrame } from './upstream.js';

/** Query parameters that do not change a read's answer (they change how it is waited for or shown). */
const NOT_PART_OF_SHAPE = new Set(['index', 'wait', 'cached', 'stale', 'pretty', 'max-age', 'must-revalidate', 'stale-if-error', 'consistent']);

/**
 * The cache key of a read: its path and its query in a fixed order, without the parameters that
 * do not change the answer. `/v1/health/service/web?passing&tag=v1` and `…?tag=v1&passing=` name
 * the same entry.
 */
export function cacheKey(pathname: string, search: URLSearchParams): string {
  const kept: Array<[string, string]> = [];
  for (const [k, v] of search) if (!NOT_PART_OF_SHAPE.has(k)) kept.push([k, v]);
  if (kept.length === 0) return pathname;
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return `${pathname}?${kept.map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&')}`;
}

/** One watched read: the latest answer the servers sent for it, and who waits for the next. */
export interface CacheEntry {
  readonly key: string;
  readonly id: number;
  index: number;
  status: number;
  knownLeader: boolean;
  lastContact: number;
  /** The answer's body, as the server encoded it (undefined until the first answer). */
  body: Buffer | undefined;
  /** When the answer was last confirmed current (ms since epoch). */
  freshAt: number;
  lastUsed: number;
  readonly waiters: Set<() => void>;
}

export interface WatchCacheOptions {
  /** Subscribe or unsubscribe upstream. */
  watch(id: number, path: string, index: number): void;
  unwatch(id: number): void;
  /** An entry unused this long is dropped and its watch cancelled (default 10 min). */
  idleMs?: number;
  /** Most entries (default 10,000, a stream's limit). */
  maxEntries?: number;
  now?: () => number;
}

/**
 * The agent's read cache: one upstream watch per read shape, fanned out to any number of local
 * callers (plain reads, blocking queries, DNS). Each entry is kept current by its watch; entries
 * unused for `idleMs` are dropped and their watch cancelled.
 */
export class WatchCache {
  private readonly byKey = new Map<string, CacheEntry>();
  private readonly byId = new Map<number, CacheEntry>();
  private nextId = 1;
  private readonly idleMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  hits = 0;
  misses = 0;
  private readonly changeListeners = new Set<(e: CacheEntry, before: Buffer | undefined) => void>();

  constructor(private readonly opts: WatchCacheOptions) {
    this.idleMs = opts.idleMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.byKey.size;
  }

  entries(): IterableIterator<CacheEntry> {
    return this.byKey.values();
  }

  /** The entry for a read, starting its watch when new; undefined when the cache is full. */
  entry(key: string): CacheEntry | undefined {
    let e = this.byKey.get(key);
    const now = this.now();
    if (!e) {
      if (this.byKey.size >= this.maxEntries) return undefined;
      e = { key, id: this.nextId++, index: 0, status: 0, knownLeader: false, lastContact: 0, body: undefined, freshAt: 0, lastUsed: now, waiters: new Set() };
      this.byKey.set(key, e);
      this.byId.set(e.id, e);
      this.opts.watch(e.id, key, 0);
    }
    e.lastUsed = now;
    return e;
  }

  /** Resolves once the entry's index differs from `index` (or its first answer came), or after `ms`, or on abort. */
  waitFor(e: CacheEntry, index: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (e.body !== undefined && e.index !== index) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        e.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      e.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Like waitFor without a signal: `cancel` ends the wait (the caller went away). Cheaper per
   * waiter than an AbortSignal, which matters with tens of thousands parked on one entry.
   */
  park(e: CacheEntry, index: number, ms: number): { done: Promise<void>; cancel: () => void } {
    let cancel = (): void => undefined;
    if (e.body !== undefined && e.index !== index) return { done: Promise.resolve(), cancel };
    const done = new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(t);
        e.waiters.delete(finish);
        resolve();
      };
      const t = setTimeout(finish, ms);
      e.waiters.add(finish);
      cancel = finish;
    });
    return { done, cancel };
  }

  /** Ends every wait now (shutdown): each caller answers with what the entry has. */
  wakeAll(): void {
    for (const e of this.byKey.values()) for (const w of [...e.waiters]) w();
  }

  /** A frame from the servers. */
  apply(f: DataFrame): void {
    const e = this.byId.get(f.id);
    if (!e) return;
    const changed = e.body === undefined || f.index !== e.index || f.status !== e.status;
    e.index = f.index;
    e.status = f.status;
    e.knownLeader = f.knownLeader;
    e.lastContact = f.lastContact;
    e.freshAt = this.now();
    if (!changed) return;
    const before = e.body;
    e.body = Buffer.from(f.body, 'utf8');
    for (const w of [...e.waiters]) w();
    for (const l of [...this.changeListeners]) l(e, before);
  }

  /** The stream is (back) up: every entry is watched again from the index it has. */
  resubscribe(): void {
    const now = this.now();
    for (const e of this.byKey.values()) {
      this.opts.watch(e.id, e.key, e.index);
      if (e.body !== undefined) e.freshAt = now;
    }
  }

  /** Drops entries unused for `idleMs` (with nobody waiting), cancelling their watches. Resolves how many went. */
  sweep(): number {
    const cutoff = this.now() - this.idleMs;
    let n = 0;
    for (const e of [...this.byKey.values()]) {
      if (e.lastUsed > cutoff || e.waiters.size > 0) continue;
      this.drop(e);
      n++;
    }
    return n;
  }

  /** Forgets an entry (a watch the server refused). */
  drop(e: CacheEntry): void {
    this.byKey.delete(e.key);
    this.byId.delete(e.id);
    this.opts.unwatch(e.id);
    for (const w of [...e.waiters]) w();
    const before = e.body;
    e.body = undefined;
    for (const l of [...this.changeListeners]) l(e, before);
  }

  /** Called when an entry's answer changes, or the entry is dropped (its body then undefined). */
  onChange(listener: (e: CacheEntry, before: Buffer | undefined) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  byWatchId(id: number): CacheEntry | undefined {
    return this.byId.get(id);
  }
}
