export { OutlierDetector, type OutlierOptions } from './outlier-detector.js';
export { ServiceRouter, type CallResult, type RoutedCall } from './service-router.js';
export { serviceFromHost, type ServiceTarget } from './service-host.js';
export { beaconInterceptor, isInstanceFailure, type InterceptorOptions } from './interceptor.js';
export { IDEMPOTENT_METHODS, REPLAY_HEADER, replayableFetchBody, type ReplayBody } from './replay.js';
