import { BeaconError } from '../../errors/index.js';

const MAYBE_FORBIDDEN = /__proto__|constructor|prototype|\\u/;

/** Parses a JSON body as Consul does (any content type); refuses prototype-polluting keys. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    // A reviver makes JSON.parse several times slower (9 % of a registration's CPU), so it runs
    // only when a forbidden key could be there: spelled out, or hidden behind a \u escape.
    if (!MAYBE_FORBIDDEN.test(text)) return JSON.parse(text);
    return JSON.parse(text, (k, v: unknown) => {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
        throw new BeaconError('BEACON_ERR_VALIDATION', `Request decode failed: key "${k}" is not allowed`, { field: k });
      }
      return v;
    });
  } catch (err) {
    if (err instanceof BeaconError) throw err;
    throw new BeaconError('BEACON_ERR_BAD_JSON', `Request decode failed: ${(err as Error).message}`, { field: 'body' });
  }
}
