import { createBalancer, type Balancer, type BalancerOptions, type EndCall, type StrategyName } from '../balance/index.js';
import { BeaconClientError } from '../client-error.js';
import type { Discovery, ServiceInstance, ServiceQuery, ServiceSnapshot } from '../discovery/index.js';
import type { ClientLogger } from '../logger.js';
import { OutlierDetector, type OutlierOptions } from './outlier-detector.js';

/** How one call to a picked instance ended, as seen by the router. */
export interface CallResult {
  /** Time to response headers or to the failure, in ms. */
  readonly latencyMs: number;
  /** Connection error, timeout or 5xx. */
  readonly failed: boolean;
  /** The caller gave up (aborted): counts neither as success nor as failure. */
  readonly aborted?: boolean;
}

/** A picked instance and the function to report how the call ended. */
export interface RoutedCall {
  readonly instance: ServiceInstance;
  /** Ends the call: feeds the balancer (latency, in-flight) and passive health. Idempotent. */
  readonly done: (result: CallResult) => void;
}

/**
 * Picks instances of one discovery query: the cached healthy set, minus instances ejected by
 * passive health, through the query's balancer.
 */
export class ServiceRouter {
  readonly query: ServiceQuery;
  readonly balancer: Balancer;
  readonly outliers: OutlierDetector;
  readonly #discovery: Discovery;
  #filteredFrom: readonly ServiceInstance[] | undefined;
  #filteredVersion = -1;
  #filtered: readonly ServiceInstance[] = [];

  constructor(
    discovery: Discovery,
    query: ServiceQuery,
    strategy: StrategyName,
    opts: { balancer?: BalancerOptions; outlier?: OutlierOptions; log: ClientLogger },
  ) {
    this.#discovery = discovery;
    this.query = query;
    this.balancer = createBalancer(strategy, opts.balancer);
    this.outliers = new OutlierDetector(query.name, opts.outlier ?? {}, opts.log, opts.balancer?.now, opts.balancer?.random);
  }

  /** The pickable set right now (healthy and not ejected), from `snap`. */
  available(snap: ServiceSnapshot): readonly ServiceInstance[] {
    const version = this.outliers.version;
    if (snap.instances !== this.#filteredFrom) {
      this.#filteredFrom = snap.instances;
      this.outliers.retain(new Set(snap.instances.map((i) => i.id)));
      this.#filteredVersion = -1;
    }
    if (this.#filteredVersion !== version) {
      // Same array object for as long as nothing changes: balancers cache per set (ring, weights).
      this.#filtered = this.outliers.available(snap.instances);
      this.#filteredVersion = version;
    }
    return this.#filtered;
  }

  /** The cached set of the query, if discovery has answered yet. */
  snapshotNow(): ServiceSnapshot | undefined {
    return this.#discovery.current(this.query);
  }

  /** Picks from a snapshot; `exclude` holds ids already tried by this call. */
  pickFrom(snap: ServiceSnapshot, key?: string, exclude?: ReadonlySet<string>): ServiceInstance | undefined {
    let set = this.available(snap);
    if (exclude && exclude.size > 0) set = set.filter((i) => !exclude.has(i.id));
    return this.balancer.pick(set, key === undefined ? undefined : { key });
  }

  /** Picks an instance, waiting for the first discovery answer if needed. */
  async pick(key?: string, exclude?: ReadonlySet<string>): Promise<ServiceInstance> {
    const snap = this.#discovery.current(this.query) ?? (await this.#discovery.snapshot(this.query));
    const inst = this.pickFrom(snap, key, exclude);
    if (!inst) throw this.noInstances(snap);
    return inst;
  }

  noInstances(snap: ServiceSnapshot | undefined): BeaconClientError {
    const why = !snap || snap.instances.length === 0 ? 'no healthy instances' : 'no untried healthy instance left';
    return new BeaconClientError('BEACON_ERR_NO_INSTANCES', `Service ${this.query.name}: ${why}`);
  }

  /** Starts tracking a call to `instance`. */
  begin(instance: ServiceInstance): RoutedCall {
    const end: EndCall = this.balancer.start(instance);
    let ended = false;
    return {
      instance,
      done: (result) => {
        if (ended) return;
        ended = true;
        if (result.aborted) {
          end();
          return;
        }
        end({ latencyMs: result.latencyMs, failed: result.failed });
        if (result.failed) {
          const snap = this.#discovery.current(this.query);
          this.outliers.recordFailure(instance.id, snap ? snap.instances.map((i) => i.id) : [instance.id]);
        } else this.outliers.recordSuccess(instance.id);
      },
    };
  }
}
