/**
 * The one registry of Beacon's typed errors. Every code has an HTTP status, a DNS rcode
 * and a retryable flag; docs/errors.md documents each one (a test keeps the two in step).
 */
export interface ErrorSpec {
  /** HTTP status answered for this error. */
  readonly status: number;
  /** DNS response code used when this error ends a DNS query. */
  readonly rcode: 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';
  /** Whether a client may retry the same request later and expect success. */
  readonly retryable: boolean;
  /** One line, for docs and `beacon errors`. */
  readonly summary: string;
}

export const ERRORS = {
  BEACON_ERR_VALIDATION: {
    status: 400,
    rcode: 'FORMERR',
    retryable: false,
    summary: 'A request field is missing, of the wrong type or out of range; the message names the field.',
  },
  BEACON_ERR_BAD_JSON: { status: 400, rcode: 'FORMERR', retryable: false, summary: 'The request body is not valid JSON.' },
  BEACON_ERR_BODY_TOO_LARGE: { status: 413, rcode: 'FORMERR', retryable: false, summary: 'The request body is larger than the server accepts.' },
  BEACON_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    rcode: 'FORMERR',
    retryable: false,
    summary: 'The request body has a content type the route does not take.',
  },
  BEACON_ERR_BAD_REQUEST: {
    status: 400,
    rcode: 'FORMERR',
    retryable: false,
    summary: 'The HTTP request itself is malformed (request line, a header, chunked framing); the connection is closed.',
  },
  BEACON_ERR_REQUEST_TIMEOUT: {
    status: 408,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'The request did not arrive in full in time; the connection is closed.',
  },
  BEACON_ERR_URI_TOO_LONG: { status: 414, rcode: 'FORMERR', retryable: false, summary: 'A path parameter is longer than the server takes (512 characters).' },
  BEACON_ERR_EXPECTATION_FAILED: { status: 417, rcode: 'FORMERR', retryable: false, summary: 'The request has an Expect header other than 100-continue.' },
  BEACON_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    rcode: 'FORMERR',
    retryable: false,
    summary: 'The request line and headers are larger than the server reads; the connection is closed.',
  },
  BEACON_ERR_NOT_FOUND: { status: 404, rcode: 'NXDOMAIN', retryable: false, summary: 'The service, node, check or route does not exist.' },
  BEACON_ERR_METHOD_NOT_ALLOWED: {
    status: 405,
    rcode: 'NOTIMP',
    retryable: false,
    summary: 'The route exists but not for this HTTP method; the Allow header lists the ones it takes.',
  },
  BEACON_ERR_NO_PATH_TO_DC: {
    status: 500,
    rcode: 'NXDOMAIN',
    retryable: false,
    summary: 'The request named a datacenter this server cannot reach ("No path to datacenter").',
  },
  BEACON_ERR_DC_UNREACHABLE: {
    status: 503,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'The named datacenter is known (joined over the WAN) but none of its servers answers now; try again later.',
  },
  BEACON_ERR_CHECK_NOT_TTL: {
    status: 500,
    rcode: 'SERVFAIL',
    retryable: false,
    summary: 'A TTL update was sent for a check that is unknown or is not a TTL check.',
  },
  BEACON_ERR_SCRIPT_CHECKS_DISABLED: {
    status: 400,
    rcode: 'REFUSED',
    retryable: false,
    summary: 'A script check was registered but script checks are not enabled on this server.',
  },
  BEACON_ERR_CONFLICT: { status: 409, rcode: 'SERVFAIL', retryable: true, summary: 'A compare-and-swap found the value changed since it was read.' },
  BEACON_ERR_NOT_OWNER: {
    status: 503,
    rcode: 'SERVFAIL',
    retryable: true,
    summary:
      'This server no longer holds its place in the server group (its session lapsed), so it may not write what it owned; another server has taken over.',
  },
  BEACON_ERR_PEER_UNAVAILABLE: {
    status: 503,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'The server that owns this check (cluster mode) did not answer a forwarded request; try again (its checks move to another server when it leaves).',
  },
  BEACON_ERR_ACL_DENIED: {
    status: 403,
    rcode: 'REFUSED',
    retryable: false,
    summary: "The request's ACL token does not allow it (Consul's text: Permission denied).",
  },
  BEACON_ERR_ACL_NOT_FOUND: {
    status: 403,
    rcode: 'REFUSED',
    retryable: false,
    summary: 'The ACL token the request carries does not exist (deleted, or never made): "ACL not found".',
  },
  BEACON_ERR_RATE_LIMITED: {
    status: 429,
    rcode: 'REFUSED',
    retryable: true,
    summary: 'This client address made more writes per second than the server allows (--http-write-rate); retry after the Retry-After header.',
  },
  BEACON_ERR_COMPACTED: {
    status: 410,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'A watch asked for a store revision that was compacted away; re-list and watch again.',
  },
  BEACON_ERR_LEASE_NOT_FOUND: { status: 404, rcode: 'SERVFAIL', retryable: false, summary: 'The store lease is unknown or has expired.' },
  BEACON_ERR_STORE_UNAVAILABLE: { status: 503, rcode: 'SERVFAIL', retryable: true, summary: 'The store cannot be reached or did not answer in time.' },
  BEACON_ERR_STORE_CLOSED: { status: 503, rcode: 'SERVFAIL', retryable: true, summary: 'The store was closed (the server is shutting down).' },
  BEACON_ERR_STORE_CORRUPT: {
    status: 500,
    rcode: 'SERVFAIL',
    retryable: false,
    summary:
      "The store's data on disk is damaged; the message names the file (and the key) and what was found; start with --recover to go on with what is readable.",
  },
  BEACON_ERR_SLOW_CONSUMER: {
    status: 503,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'An event stream reader fell too far behind and was dropped; resume from the revision the last line names.',
  },
  BEACON_ERR_SHUTTING_DOWN: { status: 503, rcode: 'SERVFAIL', retryable: true, summary: 'The server is shutting down and takes no new work.' },
  BEACON_ERR_CONFIG: {
    status: 400,
    rcode: 'SERVFAIL',
    retryable: false,
    summary: 'A configuration value (flag, environment variable or config file) is invalid.',
  },
  BEACON_ERR_STARTUP: {
    status: 500,
    rcode: 'SERVFAIL',
    retryable: false,
    summary: 'The server could not start (address in use, data directory not writable, ...).',
  },
  // beacon gateway / beacon sidecar (src/gateway)
  BEACON_ERR_GATEWAY_NO_ROUTE: {
    status: 404,
    rcode: 'NXDOMAIN',
    retryable: false,
    summary: 'The gateway has no route for the request: no route matches its host and path, or the service it names is not in the catalog.',
  },
  BEACON_ERR_GATEWAY_NO_INSTANCES: {
    status: 503,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'The service the gateway routed to has no healthy instance (or none left to try), or Beacon has not answered yet.',
  },
  BEACON_ERR_GATEWAY_UPSTREAM: {
    status: 502,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'The instance the gateway sent the request to failed (refused, reset, closed) and the request could not be tried elsewhere.',
  },
  BEACON_ERR_GATEWAY_TIMEOUT: {
    status: 504,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'No instance answered within the per-try or overall timeout of the gateway.',
  },
  BEACON_ERR_GATEWAY_ROUTES: {
    status: 400,
    rcode: 'SERVFAIL',
    retryable: false,
    summary: 'The gateway routes file is unreadable or invalid; the message names the file and the field; the previous routes stay.',
  },
  BEACON_ERR_AGENT_PROTOCOL: {
    status: 400,
    rcode: 'FORMERR',
    retryable: false,
    summary: 'A message on the agent stream is malformed or not allowed; the message names the field.',
  },
  BEACON_ERR_NO_SERVER: {
    status: 503,
    rcode: 'SERVFAIL',
    retryable: true,
    summary: 'The agent reaches no server for a request that must go upstream.',
  },
  BEACON_ERR_INTERNAL: { status: 500, rcode: 'SERVFAIL', retryable: true, summary: 'An unexpected error; the server log has the details.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
