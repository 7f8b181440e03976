/**
 * The SDK's typed errors. The SDK ships without Beacon's server code, so it keeps its own small
 * registry; the codes share the `BEACON_ERR_` prefix and `BEACON_ERR_VALIDATION` means the same
 * as on the server. docs/client.md lists every code.
 */
export const CLIENT_ERRORS = {
  BEACON_ERR_VALIDATION: { retryable: false, summary: 'An option or argument is missing, unknown, of the wrong type or out of range; the message names it.' },
  BEACON_ERR_REGISTRY_UNREACHABLE: {
    retryable: true,
    summary: 'No Beacon/Consul server answered (every address failed), and there was no cached answer to fall back on.',
  },
  BEACON_ERR_REGISTRY_RESPONSE: {
    retryable: false,
    summary: 'A Beacon/Consul server answered with an unexpected status; `status` and the message carry its answer.',
  },
  BEACON_ERR_NO_INSTANCES: { retryable: true, summary: 'The service has no healthy instance to send the call to.' },
  BEACON_ERR_CLIENT_CLOSED: { retryable: false, summary: 'The BeaconClient was closed; create a new one.' },
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;

/**
 * An error raised by the SDK, with a stable `code` from {@link CLIENT_ERRORS}.
 *
 * @example
 * try {
 *   await beacon.pick('payments');
 * } catch (err) {
 *   if (err instanceof BeaconClientError && err.code === 'BEACON_ERR_NO_INSTANCES') fallBack();
 * }
 */
export class BeaconClientError extends Error {
  readonly code: ClientErrorCode;
  /** HTTP status of the registry's answer, for `BEACON_ERR_REGISTRY_RESPONSE`. */
  readonly status: number | undefined;
  override readonly cause: unknown;

  constructor(code: ClientErrorCode, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message);
    this.name = 'BeaconClientError';
    this.code = code;
    this.status = opts.status;
    this.cause = opts.cause;
  }

  /** Whether trying again later may succeed. */
  get retryable(): boolean {
    return CLIENT_ERRORS[this.code].retryable;
  }
}

/** True when `err` is a {@link BeaconClientError}, optionally with the given code. */
export function isBeaconClientError(err: unknown, code?: ClientErrorCode): err is BeaconClientError {
  return err instanceof BeaconClientError && (code === undefined || err.code === code);
}

/** Shorthand for a bad option or argument. */
export function invalidOption(message: string): BeaconClientError {
  return new BeaconClientError('BEACON_ERR_VALIDATION', message);
}
