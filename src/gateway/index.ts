/**
 * Server-side discovery: `beacon gateway` (an HTTP reverse proxy routing by service name) and
 * `beacon sidecar` (a TCP forwarder per upstream). Talks to Beacon over its HTTP API like any
 * client, through the SDK's discovery, balancers and passive health.
 */
export { runGateway, type GatewayOptions, type RunningGateway } from './gateway.js';
export { buildGatewayConfig, serviceTarget, GATEWAY_DEFAULTS, type GatewayConfig, type RawGatewayConfig, type UpstreamSpec } from './config.js';
export { parseRoutesFile, loadRoutesFile } from './routes-file.js';
export { RouteTable, parseUrlprefixTag, compareRoutes, type Route, type RouteSpec, type RejectedTag } from './route-table.js';
export { CONFLICT_RULE } from './admin.js';
export type { FailoverTargets, Target } from './upstreams.js';
