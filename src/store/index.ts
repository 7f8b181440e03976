export * from './types.js';
export { openStore, type OpenStoreOptions } from './open-store.js';
export { EmbeddedStore, DEFAULT_HISTORY_REVISIONS, MIN_HISTORY_REVISIONS, type EmbeddedStoreOptions } from './embedded/index.js';
export { storeCounters, type StoreCounters, type CountingStore } from './counters.js';
export { silentLogger, type StoreLogger } from './logger.js';
