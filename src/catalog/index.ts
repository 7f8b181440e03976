export * from './types.js';
export { Catalog, type CatalogOptions, type ChangeListener } from './catalog.js';
export {
  CatalogCommands,
  MAX_ATTEMPTS,
  DEFAULT_NODE_MAINT_REASON,
  DEFAULT_SERVICE_MAINT_REASON,
  maintenanceCheck,
  type CatalogRegistration,
  type CasOption,
  type FenceOption,
  type CommandStats,
  type RegisterServiceOptions,
} from './commands.js';
export {
  buildAgentCheck,
  buildCatalogCheck,
  buildCheck,
  buildNodeRegistration,
  buildService,
  buildServiceChecks,
  validateMeta,
  type NodeRegistration,
  type RegistrationPolicy,
} from './registration.js';
export { aggregateStatus, isMaintenanceCheck, NODE_MAINTENANCE_CHECK, SERVICE_MAINTENANCE_PREFIX } from './aggregate.js';
export { CATALOG_PREFIX } from './keys.js';
export {
  CatalogSessions,
  StoreSession,
  SESSION_PREFIX,
  sessionKey,
  type SessionChange,
  type SessionFollow,
  type SessionFollower,
  type SessionId,
} from './sessions.js';
export {
  ServerRegistry,
  SERVER_PREFIX,
  serverKey,
  fenceOf,
  type ServerInfo,
  type ServerMember,
  type Fence,
  type MemberFollower,
  type MemberFollow,
} from './servers.js';
export { HistoryCompactor, type HistoryCompactorOptions } from './history.js';
export {
  AclStore,
  ACL_PREFIX,
  ANONYMOUS_TOKEN_ID,
  GLOBAL_MANAGEMENT,
  GLOBAL_MANAGEMENT_POLICY_ID,
  hashSecret,
  type AclPolicyRecord,
  type AclPolicyLink,
  type AclTokenRecord,
} from './acl-store.js';
export { PreparedQueries, QUERY_PREFIX, isQueryId, type PreparedQuery, type PreparedQueryDefinition } from './queries.js';
