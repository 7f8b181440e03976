export type {
  Discovery,
  DiscoverOptions,
  InstanceStatus,
  ServiceChange,
  ServiceInstance,
  ServiceQuery,
  ServiceSnapshot,
  ServiceWeights,
  WatchListener,
} from './types.js';
export { makeQuery } from './query.js';
export { diffInstances, instanceChanged, isEmptyChange } from './diff.js';
export { nextIndex, parseIndex, rearm, type RearmInput, type RearmOptions } from './blocking-index.js';
export { aggregateStatus, instanceWeight, parseHealthEntries } from './health-entries.js';
export { ConsulDiscovery, type ConsulDiscoveryOptions } from './consul-discovery.js';
export { DnsDiscovery, decodeAddrTarget, srvName, type DnsDiscoveryOptions, type SrvResolver } from './dns-discovery.js';
export { StaticDiscovery, STATIC_ENDPOINT_KEYS, type StaticEndpoint, type StaticServices } from './static-discovery.js';
export { checkFailover, discoverWithFailover, snapshotFromQuery, type FailoverOption } from './failover.js';
