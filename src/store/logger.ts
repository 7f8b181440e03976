/**
 * The little a store driver logs through. A pino logger fits it as is; the default logs nothing
 * (errors still reach callers as rejected promises or watch errors).
 */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** A logger that drops everything. */
export const silentLogger: StoreLogger = { info: noop, warn: noop, error: noop };
