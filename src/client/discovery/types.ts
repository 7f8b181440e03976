import type { BalancerInstance } from '../balance/index.js';

/** Consul check status of an instance the SDK hands out (critical instances are never handed out). */
export type InstanceStatus = 'passing' | 'warning';

/** Consul's `Weights`: relative traffic share while passing and while in warning. */
export interface ServiceWeights {
  readonly passing: number;
  readonly warning: number;
}

/** One discovered, healthy instance of a service. */
export interface ServiceInstance extends BalancerInstance {
  /** Service ID (unique within the set). */
  readonly id: string;
  /** Service name. */
  readonly service: string;
  /** Where to connect: the service address, or the node's when the service has none. */
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  /** Node the instance is registered on ('' when unknown, e.g. static or DNS mode). */
  readonly node: string;
  readonly datacenter: string | undefined;
  /** Aggregated check status. */
  readonly status: InstanceStatus;
  readonly weights: ServiceWeights;
  /** Effective weight: `weights.passing` or `weights.warning` by `status`. */
  readonly weight: number;
}

/** What to discover, besides the service name. */
export interface DiscoverOptions {
  /** Only instances carrying this tag (all of these tags, for an array). */
  readonly tag?: string | readonly string[];
  /** Datacenter; default the client's `datacenter`, else the server's own. */
  readonly dc?: string;
  /**
   * true (default): only instances whose checks all pass. false: instances in warning too
   * (weighted by `Weights.Warning`). Critical instances are never returned.
   */
  readonly passing?: boolean;
}

/** A normalized discovery query; `key` identifies its cache entry. */
export interface ServiceQuery {
  readonly name: string;
  readonly tags: readonly string[];
  readonly dc: string | undefined;
  readonly passing: boolean;
  readonly key: string;
}

/** The instances of a service as last known, and how fresh that knowledge is. */
export interface ServiceSnapshot {
  readonly service: string;
  /** Healthy instances, sorted by id. Never emptied because the registry is unreachable. */
  readonly instances: readonly ServiceInstance[];
  /** True when the last attempt to refresh failed: the set is the last one known. */
  readonly stale: boolean;
  /** Milliseconds since the set was last confirmed by the registry (read live: it grows while you hold the snapshot). */
  readonly ageMs: number;
  /** Wall-clock time (ms since epoch) the set was last confirmed; 0 if never. */
  readonly updatedAt: number;
  /** Why the last refresh failed, while stale. */
  readonly error: Error | undefined;
  /** Registry index (X-Consul-Index) of the set, in HTTP mode. */
  readonly index: number | undefined;
}

/** One change to a watched service. */
export interface ServiceChange {
  readonly service: string;
  readonly added: readonly ServiceInstance[];
  readonly removed: readonly ServiceInstance[];
  readonly changed: ReadonlyArray<{ readonly before: ServiceInstance; readonly after: ServiceInstance }>;
  /** The whole set after the change. */
  readonly instances: readonly ServiceInstance[];
}

/** Receives each change of a watched service. Exceptions it throws are reported to the logger and otherwise ignored. */
export type WatchListener = (change: ServiceChange) => void;

/**
 * Where instances come from: the Consul HTTP API, DNS SRV records or a fixed list. All three
 * cache per query and keep serving the last known set when their source fails.
 */
export interface Discovery {
  readonly mode: 'http' | 'dns' | 'static';
  /** The set for `query`, waiting for the first answer if there is none yet. */
  snapshot(query: ServiceQuery): Promise<ServiceSnapshot>;
  /** The cached set, without waiting; undefined before the first answer. */
  current(query: ServiceQuery): ServiceSnapshot | undefined;
  /** Calls `listener` on every change (first with every known instance as added); returns an unsubscribe function. */
  watch(query: ServiceQuery, listener: WatchListener): () => void;
  /** Stops every refresh loop. */
  close(): Promise<void>;
}
