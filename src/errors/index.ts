export { ERRORS, type ErrorCode, type ErrorSpec } from './registry.js';
export { BeaconError, isBeaconError, invalid } from './beacon-error.js';
