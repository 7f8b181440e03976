export { runServer, type RunningServer } from './server.js';
export { resolveServerOptions, DEFAULT_SERVER_OPTIONS, type ServerOptions, type RawServerOptions } from './server-options.js';
