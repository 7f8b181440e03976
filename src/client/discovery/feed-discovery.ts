import { BeaconClientError } from '../client-error.js';
import { errorText, type ClientLogger } from '../logger.js';
import { ServiceFeed } from './feed.js';
import type { Discovery, ServiceQuery, ServiceSnapshot, WatchListener } from './types.js';

/**
 * Shared machinery of the discovery backends: one {@link ServiceFeed} per query, started on
 * first use and refreshed by the backend's {@link FeedDiscovery.run} loop until close().
 */
export abstract class FeedDiscovery implements Discovery {
  abstract readonly mode: Discovery['mode'];
  readonly #feeds = new Map<string, ServiceFeed>();
  #closed = false;
  protected readonly log: ClientLogger;
  protected readonly now: () => number;

  constructor(log: ClientLogger, now: () => number = () => performance.now()) {
    this.log = log;
    this.now = now;
  }

  /** Keeps `feed` fresh until `feed.controller.signal` aborts. Must not throw for source failures (call feed.fail). */
  protected abstract run(feed: ServiceFeed): Promise<void>;

  protected feed(query: ServiceQuery): ServiceFeed {
    if (this.#closed) throw new BeaconClientError('BEACON_ERR_CLIENT_CLOSED', 'The Beacon client is closed');
    let feed = this.#feeds.get(query.key);
    if (!feed) {
      const created = new ServiceFeed(query, this.log, this.now);
      feed = created;
      this.#feeds.set(query.key, created);
      this.run(created).catch((err: unknown) => {
        if (!created.controller.signal.aborted) {
          this.log('error', 'discovery loop stopped', { service: query.name, error: errorText(err) });
          created.fail(err instanceof Error ? err : new Error(String(err)));
        }
      });
    }
    return feed;
  }

  snapshot(query: ServiceQuery): Promise<ServiceSnapshot> {
    try {
      return this.feed(query).whenReady();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  current(query: ServiceQuery): ServiceSnapshot | undefined {
    return this.#feeds.get(query.key)?.snapshot();
  }

  watch(query: ServiceQuery, listener: WatchListener): () => void {
    return this.feed(query).subscribe(listener);
  }

  close(): Promise<void> {
    this.#closed = true;
    const err = new BeaconClientError('BEACON_ERR_CLIENT_CLOSED', 'The Beacon client is closed');
    for (const feed of this.#feeds.values()) feed.close(err);
    this.#feeds.clear();
    return Promise.resolve();
  }
}
