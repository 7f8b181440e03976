import { backoffDelay, sleep, type BackoffOptions } from '../backoff.js';
import { isBeaconClientError } from '../client-error.js';
import { toGoDuration } from '../duration.js';
import { errorText, type ClientLogger } from '../logger.js';
import { parseJson, unexpectedStatus, type RegistryTransport } from '../transport/index.js';
import { nextIndex, parseIndex, rearm, type RearmOptions } from './blocking-index.js';
import { FeedDiscovery } from './feed-discovery.js';
import type { ServiceFeed } from './feed.js';
import { parseHealthEntries } from './health-entries.js';

/** Settings of HTTP discovery. */
export interface ConsulDiscoveryOptions {
  readonly transport: RegistryTransport;
  /** `wait` of each blocking query, in ms. */
  readonly waitMs: number;
  /** Timeout of a non-blocking read, in ms. */
  readonly timeoutMs: number;
  /** Allow any server to answer from its own view (`?stale`). */
  readonly allowStale: boolean;
  readonly retry: BackoffOptions;
  readonly rearm: RearmOptions;
  readonly log: ClientLogger;
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * Discovery over the Consul v1 HTTP API: a snapshot (`GET /v1/health/service/:name`), then
 * blocking queries on `X-Consul-Index` to follow every change. When every server fails, the feed
 * keeps its set (stale) and the loop retries with exponential back-off and jitter, starting again
 * from a fresh snapshot.
 */
export class ConsulDiscovery extends FeedDiscovery {
  readonly mode = 'http' as const;
  readonly #opts: ConsulDiscoveryOptions;

  constructor(opts: ConsulDiscoveryOptions) {
    super(opts.log, opts.now);
    this.#opts = opts;
  }

  protected async run(feed: ServiceFeed): Promise<void> {
    const o = this.#opts;
    const random = o.random ?? Math.random;
    const { signal } = feed.controller;
    const q = feed.query;
    let index = 0;
    let spins = 0;
    let failures = 0;
    let server: string | undefined;
    while (!signal.aborted) {
      const sent = index;
      const started = this.now();
      try {
        const res = await o.transport.request({
          method: 'GET',
          path: `/v1/health/service/${encodeURIComponent(q.name)}`,
          query: {
            dc: q.dc,
            tag: q.tags.length ? q.tags : undefined,
            passing: q.passing ? true : undefined,
            stale: o.allowStale ? true : undefined,
            index: sent > 0 ? String(sent) : undefined,
            wait: sent > 0 ? toGoDuration(o.waitMs) : undefined,
          },
          // A blocking query may legitimately take wait + wait/16 (server jitter); allow a margin.
          timeoutMs: sent > 0 ? o.waitMs + o.waitMs / 16 + o.timeoutMs : o.timeoutMs,
          signal,
          // An index only means something to the server that gave it: fail over by hand, below.
          failover: sent === 0,
        });
        if (res.status !== 200) throw unexpectedStatus(res, `discovering ${q.name}`);
        const instances = parseHealthEntries(parseJson(res), q.dc);
        const received = parseIndex(res.headers['x-consul-index']);
        // A read that reached another server than the last one is a fresh start there.
        const base = server !== undefined && res.server !== server ? 0 : sent;
        server = res.server;
        index = nextIndex(base, received);
        feed.update(instances, received);
        failures = 0;
        const step = rearm({ sent: base, next: index, elapsedMs: this.now() - started, spins }, o.rearm, random);
        spins = step.spins;
        if (step.delayMs > 0) await sleep(step.delayMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        index = 0;
        spins = 0;
        // The server we were blocking on went away: at once, a fresh read that may go to any server.
        if (sent > 0 && isBeaconClientError(err, 'BEACON_ERR_REGISTRY_UNREACHABLE')) continue;
        feed.fail(err instanceof Error ? err : new Error(String(err)));
        const delay = backoffDelay(failures, o.retry, random);
        failures += 1;
        this.log('debug', 'discovery query failed, retrying', { service: q.name, inMs: Math.round(delay), error: errorText(err) });
        await sleep(delay, signal);
      }
    }
  }
}
