export { EmbeddedStore, DEFAULT_HISTORY_REVISIONS, MIN_HISTORY_REVISIONS, type EmbeddedStoreOptions } from './embedded-store.js';
export { DB_FILE } from './sqlite-file.js';
