import type { Logger } from '../config/index.js';

/** What a store driver logs through: the server's logger (errors still reach callers as rejected promises or watch errors). */
export type StoreLogger = Logger;
export { silentLogger } from '../config/index.js';
