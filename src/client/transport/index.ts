export {
  RegistryTransport,
  encodeQuery,
  parseJson,
  unexpectedStatus,
  type QueryParams,
  type RegistryRequest,
  type RegistryResponse,
  type TransportOptions,
} from './registry-transport.js';
export { normalizeServerUrl } from './server-url.js';
