/**
 * The one logger type of the server side: structured (an object, then a message), as pino's
 * logger is, so the server's pino instance is passed everywhere as is. Logs are never the only
 * way a failure is reported: errors also reach callers.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** A logger that drops everything (tests, and library use without a logger). */
export const silentLogger: Logger = { info: noop, warn: noop, error: noop, debug: noop };
