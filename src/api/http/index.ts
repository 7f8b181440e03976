export { createHttpApp, type RouteModule } from './app.js';
export type { HttpContext, Logger } from './context.js';
export type { LocalNode } from './local-node.js';
export type { ServerTier, TierMember } from './server-tier.js';
export { createMetrics, type HttpMetrics } from './metrics.js';
export { blockingRead, type ReadSpec } from './blocking.js';
export { ResponseCache } from './response-cache.js';
export { sendError, toBeaconError } from './replies.js';
export { normalizeKeys, CHECK_SHAPE, CHECK_UPDATE_SHAPE, SERVICE_SHAPE, type Shape } from './normalize.js';
export { checkSchema } from './schemas.js';
export { checkJson, agentServiceJson, healthEntryJson } from './serialize.js';
export { checkDatacenter, boolParam, one, type Query } from './query.js';
export { normalizeBody, param, ok, queryOf, applyFilter } from './routes/shared.js';
export { decodeCheckDefinition, decodeServiceDefinition } from './definitions.js';
export { reloadTls, loadTlsFiles } from './tls.js';
export {
  AGENT_STREAM_PATH,
  AGENT_PROTOCOL_VERSION,
  MAX_WATCHES_PER_STREAM,
  MAX_AGENT_MESSAGE_BYTES,
  isWatchablePath,
  parseAgentMessage,
  type AgentMessage,
  type AgentNodeInfo,
  type ServerMessage,
  type WireRecord,
} from './agent-protocol.js';
export { leaderHeaders, HEALTHY_LEADER_HEADERS } from './leader-headers.js';
export { SERVICE_SHAPE as AGENT_SERVICE_SHAPE } from './normalize.js';
export { serviceSchema } from './schemas.js';
export { normalizeTaggedAddresses } from './normalize.js';
export { AGENT_SERVICE_FIELDS, CHECK_FIELDS } from './filter-fields.js';
export { permissionDenied, secretOf } from './acl.js';
export { uiRoutes, defaultUiDir, loadUiAssets } from './ui-assets.js';
