import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Catalog } from '../catalog/index.js';
import type { Logger, RuntimeConfig } from '../config/index.js';
import { EventLogSink } from './file-sink.js';
import { followEvents, type FollowOptions, type StreamTarget } from './follower.js';
import { EventHub } from './hub.js';
import { createEventMetrics, type EventMetrics, type SinkGauges } from './metrics.js';
import { WebhookSink } from './webhook-sink.js';

export interface EventsDeps {
  catalog: Catalog;
  config: Pick<RuntimeConfig, 'datacenter' | 'dataDir' | 'events'>;
  logger: Logger;
  registry: Registry;
}

/** How long a stopping server gives the webhook sink to deliver what it holds. */
const SINK_STOP_GRACE_MS = 3000;

/**
 * The events subsystem of one server: the hub on the catalog, the sinks the config names,
 * the metrics, and the streams readers follow.
 *
 * @example
 * const events = new Events({ catalog, config, logger, registry });
 * events.start();
 * await events.follow(reply.raw, { format: 'ndjson', filter: {}, follow: true });
 */
export class Events {
  readonly hub: EventHub;
  readonly webhook: WebhookSink | undefined;
  readonly log: EventLogSink | undefined;
  private readonly metrics: EventMetrics;
  private followers = 0;
  private expiry: NodeJS.Timeout | undefined;

  constructor(private readonly deps: EventsDeps) {
    const { config, logger } = deps;
    let metrics: EventMetrics | undefined;
    this.hub = new EventHub({
      datacenter: config.datacenter,
      history: { maxEvents: config.events.historyEvents, maxAgeMs: config.events.historyAgeMs },
      onEvent: (e) => metrics?.record(e),
    });
    if (config.events.sinkUrl)
      this.webhook = new WebhookSink(this.hub, { url: config.events.sinkUrl, cursorPath: join(config.dataDir, 'events', 'webhook-cursor.json'), logger });
    if (config.events.logFile) this.log = new EventLogSink(this.hub, config.events.logFile, logger);
    const w = this.webhook;
    const l = this.log;
    const sinks: SinkGauges = {
      ...(w ? { webhook: { lag: () => w.lag, delivered: () => w.stats.delivered, failures: () => w.stats.failures, lost: () => w.stats.lost } } : {}),
      ...(l ? { log: { written: () => l.written, dropped: () => l.dropped, pendingBytes: () => l.pendingBytes } } : {}),
    };
    metrics = this.metrics = createEventMetrics(
      deps.registry,
      () => this.hub,
      () => this.followers,
      () => sinks,
    );
  }

  /** Follows the catalog from its current revision and starts the sinks. */
  start(): void {
    this.hub.attach(this.deps.catalog);
    this.log?.start();
    this.webhook?.start();
    this.expiry = setInterval(() => this.hub.history.expire(Date.now()), 30_000);
    this.expiry.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.expiry);
    await this.webhook?.stop(SINK_STOP_GRACE_MS);
    await this.log?.stop();
    this.hub.stop();
  }

  /** Streams events to one reader until it goes, is dropped, or `opts.signal` aborts. */
  async follow(target: StreamTarget, opts: FollowOptions): Promise<void> {
    this.followers++;
    try {
      await followEvents(this.hub, target, { ...opts, onDropped: () => this.metrics.followerDropped() });
    } finally {
      this.followers--;
    }
  }

  get followerCount(): number {
    return this.followers;
  }
}
