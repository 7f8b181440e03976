export * from './types.js';
export { openStore, type OpenStoreOptions } from './open-store.js';
export { EmbeddedStore, DEFAULT_HISTORY_REVISIONS, MIN_HISTORY_REVISIONS, type EmbeddedStoreOptions } from './embedded/index.js';
export {
  EtcdStore,
  parseEtcdUrl,
  etcdUsesTls,
  type EtcdTls,
  DEFAULT_ETCD_REQUEST_TIMEOUT_MS,
  MIN_ETCD_REQUEST_TIMEOUT_MS,
  type EtcdStoreOptions,
} from './etcd/index.js';
export { storeCounters, countKeys, type StoreCounters, type CountingStore, type KeyCountingStore } from './counters.js';
export { storeHealth, onStoreHealthChange, storeLastContact, type StoreHealth, type HealthReportingStore, type ContactReportingStore } from './health.js';
export { namespaced, namespacePrefixProblem, NamespacedStore, type NamespaceOptions } from './namespace.js';
export { silentLogger, type StoreLogger } from './logger.js';
