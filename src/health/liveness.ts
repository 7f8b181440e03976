import type { Catalog } from '../catalog/index.js';
import { isBeaconError } from '../errors/index.js';
import { NO_LEASE, type LeaseId, type Store, type WatchBatch, type WatchHandle } from '../store/index.js';
import { CheckWriter, type CheckWriterDeps } from './check-writer.js';
import type { HealthLogger } from './types.js';

/** Store prefix of node sessions: `beacon/sessions/<node>`, each attached to its node's lease. */
export const SESSION_PREFIX = 'beacon/sessions/';
export const SERF_CHECK_ID = 'serfHealth';
export const ALIVE_OUTPUT = 'Agent alive and reachable';
export const DEAD_OUTPUT = 'Agent not live or unreachable';

export const sessionKey = (node: string): string => SESSION_PREFIX + encodeURIComponent(node);

export interface LivenessOptions {
  store: Store;
  catalog: Catalog;
  logger: HealthLogger;
  /** This server's node. */
  node: string;
  ttlSeconds: number;
  /** Whether this server keeps the serfHealth check of `node` (its own, or one it owns in cluster mode). */
  ownsNode(node: string): boolean;
  writer: Omit<CheckWriterDeps, 'catalog' | 'store' | 'logger'>;
  onSession?(up: boolean): void;
}

/**
 * Node liveness (design.md): this server holds one store lease — its session — with the key
 * `beacon/sessions/<node>` attached, refreshed with jitter every third of its TTL. While a
 * node's session key lives its `serfHealth` check is passing; when the key goes (the lease
 * lapsed) it turns critical, which takes every service of the node out of passing results.
 * When its own lease is lost this server grants a new one and comes back.
 */
export class NodeLiveness {
  private lease: LeaseId = NO_LEASE;
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private recovering: Promise<void> | undefined;
  private readonly writers = new Map<string, CheckWriter>();

  constructor(private readonly opts: LivenessOptions) {}

  get currentLease(): LeaseId {
    return this.lease;
  }

  async start(): Promise<void> {
    const { store, node } = this.opts;
    // A session left by this node's previous run: end it quietly before watching.
    const old = await store.get(sessionKey(node));
    if (old && old.lease !== NO_LEASE) await store.revoke(old.lease);
    const { revision } = await store.range(SESSION_PREFIX);
    this.startWatch(revision + 1);
    await this.establish();
    this.scheduleKeepAlive(this.refreshMs());
  }

  /** Ends the session: the lease is revoked, so the node's checks go critical at once (clean leave). */
  async stop(opts: { revoke?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.cancel();
    for (const w of this.writers.values()) w.close();
    if (opts.revoke && this.lease !== NO_LEASE) await this.opts.store.revoke(this.lease).catch(() => undefined);
  }

  private refreshMs(): number {
    return (this.opts.ttlSeconds * 1000 / 3) * (0.8 + Math.random() * 0.4);
  }

  private async establish(): Promise<void> {
    const { store, node, ttlSeconds } = this.opts;
    const lease = await store.grant(ttlSeconds);
    this.lease = lease;
    await store.put(sessionKey(node), JSON.stringify({ Node: node, Lease: lease, Since: new Date().toISOString() }), { lease });
    this.opts.onSession?.(true);
  }

  private scheduleKeepAlive(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.keepAlive(), ms);
    this.timer.unref();
  }

  private async keepAlive(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.opts.store.keepAlive(this.lease);
      this.scheduleKeepAlive(this.refreshMs());
    } catch (err) {
      if (this.stopped) return;
      if (isBeaconError(err, 'BEACON_ERR_LEASE_NOT_FOUND')) {
        this.lapsed();
      } else {
        this.opts.logger.warn({ err }, 'session keep-alive failed; retrying');
        this.scheduleKeepAlive(500 + Math.random() * 500);
      }
    }
  }

  /** Our lease is gone: the node is critical until a new session is up. */
  private lapsed(): void {
    if (this.stopped || this.recovering) return;
    this.opts.logger.warn({ node: this.opts.node, lease: this.lease }, 'session lease lapsed; starting a new session');
    this.opts.onSession?.(false);
    this.setSerf(this.opts.node, false);
    clearTimeout(this.timer);
    this.recovering = (async () => {
      try {
        await this.establish();
        this.scheduleKeepAlive(this.refreshMs());
      } catch (err) {
        this.opts.logger.warn({ err }, 'starting a new session failed; retrying');
        this.scheduleKeepAlive(500 + Math.random() * 500);
      } finally {
        this.recovering = undefined;
      }
    })();
  }

  private startWatch(fromRevision: number): void {
    if (this.stopped) return;
    this.watch = this.opts.store.watch({
      prefix: SESSION_PREFIX,
      fromRevision,
      onBatch: (b) => this.onBatch(b),
      onError: (err) => {
        if (this.stopped) return;
        if (!isBeaconError(err, 'BEACON_ERR_COMPACTED')) this.opts.logger.warn({ err }, 'session watch failed; watching again');
        setTimeout(() => void this.rewatch(), 200 + Math.random() * 300).unref();
      },
    });
  }

  /** After a broken watch: this node's session must exist; then watch from now. */
  private async rewatch(): Promise<void> {
    if (this.stopped) return;
    try {
      const { kvs, revision } = await this.opts.store.range(SESSION_PREFIX);
      this.startWatch(revision + 1);
      const own = kvs.find((kv) => kv.key === sessionKey(this.opts.node));
      if (own) this.setSerf(this.opts.node, true);
      else this.lapsed();
    } catch (err) {
      this.opts.logger.warn({ err }, 're-listing sessions failed; retrying');
      setTimeout(() => void this.rewatch(), 500 + Math.random() * 500).unref();
    }
  }

  private onBatch(b: WatchBatch): void {
    for (const ev of b.events) {
      if (!ev.kv.key.startsWith(SESSION_PREFIX)) continue;
      const node = decodeURIComponent(ev.kv.key.slice(SESSION_PREFIX.length));
      if (!this.opts.ownsNode(node)) continue;
      if (ev.type === 'put') {
        this.setSerf(node, true);
      } else if (node !== this.opts.node) {
        this.setSerf(node, false);
      } else if (ev.prevKv && ev.prevKv.lease !== this.lease) {
        // The key of an older session of ours (its lease was revoked late): ours stands.
        void this.restoreKey();
      } else {
        this.lapsed();
      }
    }
  }

  /** Puts this node's session key back on the current lease if it is missing. */
  private async restoreKey(): Promise<void> {
    const { store, node } = this.opts;
    try {
      if (this.recovering || (await store.get(sessionKey(node)))) return;
      await store.put(sessionKey(node), JSON.stringify({ Node: node, Lease: this.lease, Since: new Date().toISOString() }), { lease: this.lease });
    } catch (err) {
      if (isBeaconError(err, 'BEACON_ERR_LEASE_NOT_FOUND')) this.lapsed();
    }
  }

  private setSerf(node: string, alive: boolean): void {
    if (this.stopped || !this.opts.catalog.check(node, SERF_CHECK_ID)) return;
    let w = this.writers.get(node);
    if (!w) {
      w = new CheckWriter({ ...this.opts.writer, catalog: this.opts.catalog, store: this.opts.store, logger: this.opts.logger }, node, SERF_CHECK_ID);
      this.writers.set(node, w);
    }
    w.set(alive ? { status: 'passing', output: ALIVE_OUTPUT } : { status: 'critical', output: DEAD_OUTPUT })
      .catch((err: unknown) => this.opts.logger.warn({ err, node }, 'writing serfHealth failed'));
  }
}
