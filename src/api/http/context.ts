import type { AclResolver } from '../../acl/index.js';
import type { Catalog, PreparedQueries } from '../../catalog/index.js';
import type { RuntimeConfig } from '../../config/index.js';
import type { Events } from '../../events/index.js';
import type { Store } from '../../store/index.js';
import type { LocalNode } from './local-node.js';
import type { ServerTier } from './server-tier.js';
import type { HttpMetrics } from './metrics.js';
import type { ResponseCache } from './response-cache.js';
import type { Federation } from '../../cluster/index.js';

/** The server's structured logger (one type for every subsystem). */
export type { Logger } from '../../config/index.js';
import type { Logger } from '../../config/index.js';

/** Everything the HTTP routes use. */
export interface HttpContext {
  config: RuntimeConfig;
  store: Store;
  catalog: Catalog;
  metrics: HttpMetrics;
  /** Encoded answers of plain reads, served before routing while their index holds. */
  responseCache: ResponseCache;
  logger: Logger;
  /** "This node": what /v1/agent/* acts on (the server's own node, or an agent's). */
  local: LocalNode;
  /** ACL tokens and policies; undefined: no ACLs at all (every request may do everything). */
  acl?: AclResolver;
  /** The server group (cluster mode); undefined on a single server. */
  servers?: ServerTier;
  /** This server's part in the WAN (other datacenters, forwarding); undefined in tests that need none. */
  federation?: Federation;
  /** The datacenter's prepared queries (/v1/query); undefined in tests that need none. */
  queries?: PreparedQueries;
  /** Aborted when the server shuts down: blocking queries return at once. */
  shutdownSignal: AbortSignal;
  /** The event history and stream (undefined where none is kept). */
  events?: Events;
  /** Server start time (ms since epoch), for agent/self. */
  startedAt: number;
  version: string;
}
