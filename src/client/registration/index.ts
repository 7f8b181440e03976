export type { CheckOptions, HttpCheckOptions, RegisterOptions, TcpCheckOptions, TtlCheckOptions } from './types.js';
export { buildServiceDefinition, type ServiceDefinition } from './service-definition.js';
export { Registration, saysUnknown, type KeepAliveOptions } from './registration.js';
export { installShutdownHook, type SignalTarget } from './shutdown-signals.js';
