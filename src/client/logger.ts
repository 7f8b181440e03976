/** Severity of an SDK log event. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Optional callback the SDK reports what it does through. The SDK never logs on its own and
 * never reports a failure only here: errors are also returned to the caller.
 *
 * @example
 * const beacon = new BeaconClient({
 *   servers: ['http://127.0.0.1:8500'],
 *   logger: (level, msg, fields) => pinoLogger[level](fields ?? {}, msg),
 * });
 */
export type ClientLogger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** A logger that drops everything (the default). */
export const silentLogger: ClientLogger = () => {};

/** Wraps a user logger so an exception thrown inside it cannot break the SDK's loops. */
export function safeLogger(logger: ClientLogger | undefined): ClientLogger {
  if (!logger) return silentLogger;
  return (level, message, fields) => {
    try {
      logger(level, message, fields);
    } catch {
      // A broken logger must not take discovery or heartbeats down with it.
    }
  };
}

/** Short text for an unknown thrown value, for log fields. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
