export { ServerGroup, type ServerGroupOptions, type ServerIdentity } from './server-group.js';
export { rendezvousOwner, hash53 } from './rendezvous.js';
export { TtlForwarder, FORWARDED_TTL_ROUTE, type ForwardedTtl } from './ttl-forward.js';
export { createClusterMetrics, type ClusterMetrics } from './metrics.js';
export * from './wan/index.js';
