import type { HealthStatus } from '../../catalog/index.js';

/** One live server of the group, as the status and members routes show it. */
export interface TierMember {
  /** Node name. */
  name: string;
  /** Advertise address (IP or host name). */
  addr: string;
  /** HTTP API, host:port. */
  http: string;
  version: string;
}

/**
 * The server group, as the HTTP routes see it (cluster mode). A single server has none: the
 * routes then answer for this server alone.
 */
export interface ServerTier {
  /** Live servers, the coordinator first. */
  members(): readonly TierMember[];
  /** The coordinator, while there is one. */
  leader(): TierMember | undefined;
  /** Store revision of the last membership change (for blocking reads). */
  index(): number;
  /**
   * A TTL update another server forwarded here because this server owns the check. Applied
   * only if it still does (BEACON_ERR_NOT_OWNER otherwise): no second hop.
   */
  forwardedTtl(node: string, checkId: string, status: HealthStatus, output: string): Promise<void>;
}
