/**
 * Beacon's server side, for embedding a server in a Node.js process (tests, tools). The SDK
 * is the separate subpath `beacon/client`.
 *
 * @example
 * import { buildConfig, runServer } from 'beacon';
 * const server = await runServer(buildConfig({ httpAddr: '127.0.0.1:0', dnsAddr: 'off', dataDir: './data' }));
 * console.log(server.http.port);
 * await server.close();
 */
export { runServer, type RunningServer } from './server/index.js';
export { buildConfig, type RawConfig, type RuntimeConfig } from './config/index.js';
export { ERRORS, BeaconError, isBeaconError, type ErrorCode } from './errors/index.js';
