import { storeHealth, storeLastContact } from '../../store/index.js';
import type { HttpContext } from './context.js';

const HEALTHY: Readonly<Record<string, string>> = Object.freeze({ 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' });

/**
 * Consul's leader headers, as clients read them to judge an answer: while the store takes
 * writes, `X-Consul-KnownLeader: true` and `X-Consul-LastContact: 0`. While it refuses them
 * (disk full, I/O errors, etcd unreachable or out of space), `false`, the milliseconds since
 * the store last answered (etcd) or since writes stopped (embedded), and
 * `X-Beacon-Store: not-writable` — the answer is this server's last view, and statuses the
 * health checkers could not write show as decided (the catalog's pending statuses).
 */
export function leaderHeaders(ctx: Pick<HttpContext, 'store'>): Readonly<Record<string, string>> {
  const h = storeHealth(ctx.store);
  if (h.writable) return HEALTHY;
  // On etcd, the time since etcd last answered; on the embedded store, since writes stopped.
  const last = storeLastContact(ctx.store) ?? h.since;
  return { 'x-consul-knownleader': 'false', 'x-consul-lastcontact': String(Math.max(0, Date.now() - last)), 'x-beacon-store': 'not-writable' };
}

/** True while answers must be built fresh (not served from the response cache). */
export function answersDegraded(ctx: Pick<HttpContext, 'store' | 'catalog'>): boolean {
  return ctx.catalog.pendingCount > 0 || !storeHealth(ctx.store).writable;
}

export { HEALTHY as HEALTHY_LEADER_HEADERS };
