import { invalidOption } from '../client-error.js';
import type { DiscoverOptions, ServiceQuery } from './types.js';

/** Builds the normalized query (and its cache key) for `name` and `opts`. */
export function makeQuery(name: string, opts: DiscoverOptions = {}, defaultDc?: string): ServiceQuery {
  if (typeof name !== 'string' || name.length === 0) throw invalidOption('Service name must be a non-empty string');
  const tagList = opts.tag === undefined ? [] : typeof opts.tag === 'string' ? [opts.tag] : [...opts.tag];
  for (const t of tagList) if (typeof t !== 'string' || t.length === 0) throw invalidOption('Tags must be non-empty strings');
  const tags = [...new Set(tagList)].sort();
  const dc = opts.dc ?? defaultDc;
  const passing = opts.passing ?? true;
  return { name, tags, dc, passing, key: JSON.stringify([name, tags, dc ?? '', passing]) };
}
