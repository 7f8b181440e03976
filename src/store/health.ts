import type { Store } from './types.js';

/**
 * Whether a store takes writes. The embedded driver turns `writable` false when a commit fails
 * (disk full, I/O error): the writes of that commit are refused with
 * BEACON_ERR_STORE_UNAVAILABLE and nothing of them is kept, reads go on from what is committed,
 * and the store retries in the background until a commit succeeds again.
 */
export interface StoreHealth {
  writable: boolean;
  /** When `writable` took its current value (ms since the epoch; the open, if it never changed). */
  since: number;
  /** The last commit failure, one line (kept after the store is writable again). */
  lastError?: string;
}

/** A store driver that reports {@link StoreHealth}. */
export interface HealthReportingStore extends Store {
  health(): StoreHealth;
  /** Calls `listener` on every change of `writable`; returns the function that stops it. */
  onHealthChange(listener: (health: StoreHealth) => void): () => void;
}

const ALWAYS = Object.freeze({ writable: true, since: 0 });

function reporting(store: Store): HealthReportingStore | undefined {
  const s = store as Partial<HealthReportingStore>;
  return typeof s.health === 'function' && typeof s.onHealthChange === 'function' ? (store as HealthReportingStore) : undefined;
}

/**
 * The store's health; a driver that does not report it is taken as writable.
 *
 * @example
 * if (!storeHealth(store).writable) reply.header('X-Consul-KnownLeader', 'false');
 */
export function storeHealth(store: Store): StoreHealth {
  return reporting(store)?.health() ?? ALWAYS;
}

/**
 * Follows the store's health: `listener` gets each change. Returns the function that stops it
 * (a no-op for a driver that does not report health).
 *
 * @example
 * const stop = onStoreHealthChange(store, (h) => log.warn(h, h.writable ? 'store writable' : 'store not writable'));
 */
export function onStoreHealthChange(store: Store, listener: (health: StoreHealth) => void): () => void {
  return reporting(store)?.onHealthChange(listener) ?? (() => undefined);
}

/** A store driver that knows when its backend last answered (the etcd driver). */
export interface ContactReportingStore extends Store {
  /** ms since the epoch of the backend's last answer; it stands still while the backend is away. */
  lastContact(): number;
}

/**
 * When the store's backend last answered (ms since the epoch), or undefined for a driver that
 * has no backend to lose (the embedded store). Namespaced views report their store's.
 *
 * @example
 * const last = storeLastContact(store);
 * reply.header('X-Consul-LastContact', String(last === undefined ? 0 : Math.max(0, Date.now() - last)));
 */
export function storeLastContact(store: Store): number | undefined {
  const s = store as Partial<ContactReportingStore>;
  return typeof s.lastContact === 'function' ? s.lastContact() : undefined;
}
