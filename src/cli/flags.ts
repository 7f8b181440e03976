import { BeaconClientError } from '../client/index.js';

/** A usage error: names the flag or argument and what to fix. */
export function usageError(message: string): BeaconClientError {
  return new BeaconClientError('BEACON_ERR_VALIDATION', message);
}

/** Commander parser of a repeatable option: collects every value in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Parses repeated `key=value` flags into a map (the value may contain `=`; a later key wins).
 *
 * @example
 * parseKeyValues('--meta', ['version=2', 'team=a=b']); // { version: '2', team: 'a=b' }
 */
export function parseKeyValues(flag: string, values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    if (i <= 0) throw usageError(`invalid ${flag} "${v}": expected key=value`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** Parses a port number flag: an integer from 0 to 65535. */
export function parsePort(flag: string, value: string): number {
  const n = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535)) throw usageError(`invalid ${flag} "${value}": expected a port number from 0 to 65535`);
  return n;
}

/** `--node-meta key=value` flags as the API's `node-meta=key:value` query values. */
export function nodeMetaQuery(values: readonly string[] | undefined): string[] | undefined {
  const pairs = Object.entries(parseKeyValues('--node-meta', values));
  return pairs.length ? pairs.map(([k, v]) => `${k}:${v}`) : undefined;
}
