/**
 * beacon/client — the Beacon SDK. Imports nothing from Beacon's server code: only node:
 * built-ins and undici.
 *
 * @example
 * import { BeaconClient, createBalancer } from 'beacon/client';
 */
export { BeaconClient, type PickOptions } from './client.js';
export type { BeaconClientOptions, ClientConfig } from './options.js';
export { BeaconClientError, CLIENT_ERRORS, isBeaconClientError, type ClientErrorCode } from './client-error.js';
export type { ClientLogger, LogLevel } from './logger.js';
export type { Duration } from './duration.js';
/** @internal Go's time.ParseDuration, shared with Beacon's server; not part of the SDK's stable API. */
export { parseGoDuration } from './duration.js';
export { backoffDelay, jitter, type BackoffOptions } from './backoff.js';
/** @internal The typo suggestion of the SDK's option checks, shared with Beacon's CLI; not part of the SDK's stable API. */
export { didYouMean } from './validate.js';

export {
  createBalancer,
  isStrategyName,
  weightOf,
  DEFAULT_STRATEGY,
  STRATEGIES,
  type Balancer,
  type BalancerInstance,
  type BalancerOptions,
  type CallOutcome,
  type EndCall,
  type PickContext,
  type StrategyName,
} from './balance/index.js';

export {
  aggregateStatus,
  diffInstances,
  instanceWeight,
  nextIndex,
  parseHealthEntries,
  type Discovery,
  type DiscoverOptions,
  type FailoverOption,
  type DnsDiscoveryOptions,
  type InstanceStatus,
  type ServiceChange,
  type ServiceInstance,
  type ServiceQuery,
  type ServiceSnapshot,
  type ServiceWeights,
  type SrvResolver,
  type StaticEndpoint,
  type StaticServices,
  type WatchListener,
} from './discovery/index.js';

export {
  Registration,
  type CheckOptions,
  type HttpCheckOptions,
  type RegisterOptions,
  type TcpCheckOptions,
  type TtlCheckOptions,
} from './registration/index.js';
export {
  beaconInterceptor,
  serviceFromHost,
  type CallResult,
  type InterceptorOptions,
  type OutlierOptions,
  type RoutedCall,
  type ServiceTarget,
} from './routing/index.js';

/**
 * @internal The low-level HTTP transport to the registry's v1 API (failover over the server list,
 * query encoding, timeouts), which the SDK's own calls go through; exported so Beacon's CLI uses
 * the same client. Not part of the SDK's stable API: it may change in any release.
 */
export { RegistryTransport, type QueryParams, type RegistryRequest, type RegistryResponse, type TransportOptions } from './transport/index.js';

/**
 * @internal The pieces Beacon's gateway and sidecar (src/gateway) route with: HTTP discovery
 * (snapshot + blocking watch, frozen set on outage), a router per query (balancer + passive
 * health), and the query normalizer. Not part of the SDK's stable API: they may change in any release.
 */
export { ConsulDiscovery, makeQuery, parseIndex, type ConsulDiscoveryOptions } from './discovery/index.js';
export { ServiceRouter, OutlierDetector } from './routing/index.js';
export { sleep } from './backoff.js';
