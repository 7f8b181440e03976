/** A one-line description of a network or process error, with its cause when it has one. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const msg = err.message || code || err.name;
  if (cause && cause.message && !msg.includes(cause.message)) return `${msg}: ${cause.message}`;
  return msg;
}
