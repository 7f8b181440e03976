export { buildConfig, isEtcdUrl, type RawConfig, type RuntimeConfig, type DnsConfig, type LogLevel, type TlsConfig } from './runtime.js';
export { fromEnv, fromFile, mergeRaw, envName } from './sources.js';
export { parseDuration, formatDuration } from './duration.js';
export { parseBool } from './bool.js';
export { parseHostPort, formatHostPort, type HostPort } from './address.js';
export { silentLogger, type Logger } from './logger.js';
export { TokenBuckets } from './token-buckets.js';
