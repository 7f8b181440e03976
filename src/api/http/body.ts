import { BeaconError } from '../../errors/index.js';

/** Parses a JSON body as Consul does (any content type); refuses prototype-polluting keys. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
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
