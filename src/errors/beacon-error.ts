import { ERRORS, type ErrorCode } from './registry.js';

/**
 * An error with a stable code from the registry. `field` names the request field at fault,
 * when there is one, so a caller can show exactly what to fix.
 *
 * @example
 * throw new BeaconError('BEACON_ERR_VALIDATION', 'Port must be between 0 and 65535', { field: 'Port' });
 */
export class BeaconError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  override readonly cause: unknown;

  constructor(code: ErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(message);
    this.name = 'BeaconError';
    this.code = code;
    this.field = opts.field;
    this.cause = opts.cause;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get retryable(): boolean {
    return ERRORS[this.code].retryable;
  }

  get rcode(): string {
    return ERRORS[this.code].rcode;
  }

  toJSON(): { code: ErrorCode; message: string; field?: string } {
    return this.field === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, field: this.field };
  }
}

export function isBeaconError(err: unknown, code?: ErrorCode): err is BeaconError {
  return err instanceof BeaconError && (code === undefined || err.code === code);
}

/** Shorthand for the most common error: a bad request field. */
export function invalid(field: string, message: string): BeaconError {
  return new BeaconError('BEACON_ERR_VALIDATION', message, { field });
}
