import { backoffDelay, nextIndex, parseIndex, sleep, type ClientLogger, type RegistryTransport } from '../client/index.js';

/**
 * Follows the service list of one datacenter (`GET /v1/catalog/services`, a blocking query on
 * `X-Consul-Index`): names and the union of their tags. The gateway reads it to tell an unknown
 * service (404) from one without healthy instances (503), and for the `urlprefix-` tags. When
 * every server fails it keeps the last list and retries with back-off and jitter.
 */
export class CatalogWatch {
  readonly dc: string | undefined;
  #services: ReadonlyMap<string, readonly string[]> = new Map();
  #loaded = false;
  #error: Error | undefined;
  #unknownAt = 0;
  readonly #controller = new AbortController();
  readonly #listeners = new Set<() => void>();
  #waiters: Array<() => void> = [];
  readonly #transport: RegistryTransport;
  readonly #log: ClientLogger;
  readonly #waitMs: number;

  constructor(transport: RegistryTransport, dc: string | undefined, log: ClientLogger, waitMs = 60_000) {
    this.#transport = transport;
    this.dc = dc;
    this.#log = log;
    this.#waitMs = waitMs;
    void this.#run();
  }

  /** Service name → tags, as last known. */
  get services(): ReadonlyMap<string, readonly string[]> {
    return this.#services;
  }

  /** Whether the list has been read at least once. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Beacon answered that it has no path to this datacenter before any list was read: the watch
   * has stopped (a made-up datacenter in a Host must not start a loop that runs forever).
   */
  get unknownDatacenter(): boolean {
    return this.#unknownAt > 0;
  }

  /** When the datacenter was found unknown (performance.now()), 0 if it was not. */
  get unknownAt(): number {
    return this.#unknownAt;
  }

  /** Why the last read failed, while it is failing. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Resolves once the first read ended (answer or failure), or after `ms`. */
  ready(ms: number): Promise<void> {
    if (this.#loaded || this.#error || this.#unknownAt > 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Calls `fn` after every change of the list; returns an unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  close(): void {
    this.#controller.abort();
    for (const w of this.#waiters.splice(0)) w();
  }

  async #run(): Promise<void> {
    const { signal } = this.#controller;
    let index = 0;
    let failures = 0;
    while (!signal.aborted) {
      const sent = index;
      try {
        const res = await this.#transport.request({
          method: 'GET',
          path: '/v1/catalog/services',
          query: { dc: this.dc, index: sent > 0 ? String(sent) : undefined, wait: sent > 0 ? `${Math.round(this.#waitMs / 1000)}s` : undefined },
          timeoutMs: sent > 0 ? this.#waitMs + this.#waitMs / 16 + 10_000 : 10_000,
          signal,
          failover: sent === 0,
        });
        if (!this.#loaded && this.dc !== undefined && /no path to datacenter/i.test(res.text)) {
          this.#unknownAt = performance.now();
          this.#error = new Error(`unknown datacenter ${this.dc}`);
          for (const w of this.#waiters.splice(0)) w();
          return;
        }
        if (res.status !== 200) throw new Error(`${res.server} answered ${res.status} to /v1/catalog/services: ${res.text.trim().slice(0, 200)}`);
        const body = JSON.parse(res.text) as unknown;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`${res.server}: /v1/catalog/services is not an object`);
        const next = new Map<string, readonly string[]>();
        for (const [name, tags] of Object.entries(body as Record<string, unknown>)) {
          next.set(name, Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : []);
        }
        const changed = !this.#loaded || !sameServices(this.#services, next);
        this.#services = next;
        this.#loaded = true;
        this.#error = undefined;
        failures = 0;
        const received = parseIndex(res.headers['x-consul-index']);
        index = nextIndex(sent, received);
        for (const w of this.#waiters.splice(0)) w();
        if (changed) for (const l of [...this.#listeners]) l();
        // A server without blocking support (no index) is polled, not spun on.
        if (index === 0 || index === sent) await sleep(index === 0 ? 1_000 : 50 + Math.random() * 50, signal);
      } catch (err) {
        if (signal.aborted) return;
        index = 0;
        this.#error = err instanceof Error ? err : new Error(String(err));
        for (const w of this.#waiters.splice(0)) w();
        const delay = backoffDelay(failures, { baseMs: 200, maxMs: 10_000 });
        failures += 1;
        this.#log('warn', 'service list unavailable, keeping the last known one', { dc: this.dc, error: this.#error.message, retryInMs: Math.round(delay) });
        await sleep(delay, signal);
      }
    }
  }
}

function sameServices(a: ReadonlyMap<string, readonly string[]>, b: ReadonlyMap<string, readonly string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of b) {
    const w = a.get(k);
    if (!w || w.length !== v.length || w.some((t, i) => t !== v[i])) return false;
  }
  return true;
}
