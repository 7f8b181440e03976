import { Agent, Pool } from 'undici';
import {
  ConsulDiscovery,
  makeQuery,
  RegistryTransport,
  ServiceRouter,
  type ClientLogger,
  type ServiceInstance,
  type ServiceSnapshot,
  type StrategyName,
} from '../client/index.js';
import { CatalogWatch } from './catalog-watch.js';

/** What a request (or a sidecar connection) is sent to: a service, maybe one tag, maybe another datacenter. */
export interface Target {
  readonly service: string;
  readonly tag: string | undefined;
  readonly dc: string | undefined;
}

/**
 * Hook for failover across datacenters (prepared queries): given a target whose datacenter has
 * no healthy instance, the targets to try next, nearest first. The gateway today has none; a
 * federation-aware source plugs in here.
 */
export type FailoverTargets = (target: Target) => readonly Target[];

export interface UpstreamsOptions {
  readonly servers: readonly string[];
  /** ACL token sent to Beacon. */
  readonly token?: string;
  /** TLS towards an https:// Beacon (CA, client certificate and key). */
  readonly tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  readonly strategy: StrategyName;
  /** Datacenter of targets that name none (default the server's own). */
  readonly datacenter: string | undefined;
  /** Connect timeout of the per-instance pools, in ms. */
  readonly connectTimeoutMs: number;
  readonly log: ClientLogger;
  /** `wait` of the blocking queries to Beacon, in ms (default 60 s). */
  readonly waitMs?: number;
}

/** How long a datacenter Beacon does not know stays answered as unknown before it is asked about again, in ms. */
const UNKNOWN_DC_RECHECK_MS = 10_000;
/** Service lists of this many datacenters at most are followed; unknown ones make room first. */
const MAX_DATACENTERS = 64;

/** Longest time the first request for a service waits for its first discovery answer, in ms. */
export const FIRST_ANSWER_WAIT_MS = 5_000;

/**
 * What the gateway and the sidecar know about upstreams, all of it from Beacon's HTTP API like
 * any client (so it works against a server, a cluster or an agent): one service list per
 * datacenter ({@link CatalogWatch}), one router per target (the SDK's discovery feed, balancer and
 * passive health), and one undici connection pool per instance.
 */
export class Upstreams {
  readonly transport: RegistryTransport;
  readonly #agent: Agent;
  readonly #discovery: ConsulDiscovery;
  readonly #catalogs = new Map<string, CatalogWatch>();
  readonly #routers = new Map<string, ServiceRouter>();
  /** The same routers by a cheaper key than the query's (no sorting, no JSON on the request path). */
  readonly #byTarget = new Map<string, ServiceRouter>();
  readonly #pools = new Map<string, Pool>();
  readonly #opts: UpstreamsOptions;
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(opts: UpstreamsOptions) {
    this.#opts = opts;
    this.#agent = new Agent({ connect: { timeout: 5_000, ...opts.tls } });
    this.transport = new RegistryTransport({ servers: opts.servers, token: opts.token, dispatcher: this.#agent, timeoutMs: 10_000, log: opts.log });
    const waitMs = opts.waitMs ?? 60_000;
    this.#discovery = new ConsulDiscovery({
      transport: this.transport,
      waitMs,
      timeoutMs: 10_000,
      allowStale: false,
      retry: { baseMs: 200, maxMs: 10_000 },
      rearm: { jitterMs: 20, minBlockMs: 50, pollMs: 1_000 },
      log: opts.log,
    });
    // Pools of instances no router holds any more are closed (after their requests end).
    this.#sweep = setInterval(() => this.#sweepPools(), 30_000 + Math.random() * 5_000);
    this.#sweep.unref();
  }

  /** The service list of `dc` (started on first use). */
  catalog(dc: string | undefined): CatalogWatch {
    const d = dc ?? this.#opts.datacenter;
    const key = d ?? '';
    let c = this.#catalogs.get(key);
    // An unknown datacenter is remembered for a while, then asked about again (it may have joined).
    if (c?.unknownDatacenter && performance.now() - c.unknownAt > UNKNOWN_DC_RECHECK_MS) {
      c.close();
      this.#catalogs.delete(key);
      c = undefined;
    }
    if (!c) {
      if (this.#catalogs.size >= MAX_DATACENTERS) this.#dropUnknownCatalogs();
      c = new CatalogWatch(this.transport, d, this.#opts.log, this.#opts.waitMs);
      this.#catalogs.set(key, c);
    }
    return c;
  }

  #dropUnknownCatalogs(): void {
    for (const [k, c] of this.#catalogs) {
      if (!c.unknownDatacenter) continue;
      c.close();
      this.#catalogs.delete(k);
    }
  }

  /** The router of `target` if one exists already (the request path: nothing is created). */
  peekRouter(target: Target): ServiceRouter | undefined {
    return this.#byTarget.get(`${target.service}\u0000${target.tag ?? ''}\u0000${target.dc ?? ''}`);
  }

  /** The router of `target` (its discovery feed starts on first use and follows every change). */
  router(target: Target): ServiceRouter {
    const fast = `${target.service}\u0000${target.tag ?? ''}\u0000${target.dc ?? ''}`;
    const known = this.#byTarget.get(fast);
    if (known) return known;
    const query = makeQuery(target.service, { tag: target.tag, dc: target.dc }, this.#opts.datacenter);
    let r = this.#routers.get(query.key);
    if (!r) {
      r = new ServiceRouter(this.#discovery, query, this.#opts.strategy, { log: this.#opts.log });
      this.#routers.set(query.key, r);
    }
    this.#byTarget.set(fast, r);
    return r;
  }

  /** The set of `router`'s target now, waiting up to {@link FIRST_ANSWER_WAIT_MS} for the first answer. */
  async snapshot(router: ServiceRouter): Promise<ServiceSnapshot> {
    const now = router.snapshotNow();
    if (now) return now;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Beacon within ${FIRST_ANSWER_WAIT_MS} ms`)), FIRST_ANSWER_WAIT_MS);
    });
    try {
      return await Promise.race([this.#discovery.snapshot(router.query), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The connection pool of one instance. */
  pool(inst: ServiceInstance): Pool {
    const origin = `http://${inst.address.includes(':') ? `[${inst.address}]` : inst.address}:${inst.port}`;
    let p = this.#pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: 1024,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        connect: { timeout: this.#opts.connectTimeoutMs },
      });
      this.#pools.set(origin, p);
    }
    return p;
  }

  /** Every router, for the admin page and metrics. */
  get routers(): ReadonlyMap<string, ServiceRouter> {
    return this.#routers;
  }

  #sweepPools(): void {
    const live = new Set<string>();
    for (const r of this.#routers.values()) {
      for (const i of r.snapshotNow()?.instances ?? []) live.add(`http://${i.address.includes(':') ? `[${i.address}]` : i.address}:${i.port}`);
    }
    for (const [origin, pool] of this.#pools) {
      if (live.has(origin)) continue;
      this.#pools.delete(origin);
      void pool.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const c of this.#catalogs.values()) c.close();
    await this.#discovery.close();
    await Promise.allSettled([...this.#pools.values()].map((p) => p.destroy()));
    await this.#agent.close().catch(() => {});
  }
}
