import { invalidOption } from '../client-error.js';
import { describe } from '../validate.js';
import type { DiscoverOptions, ServiceQuery } from './types.js';

/** Builds the normalized query (and its cache key) for `name` and `opts`. */
export function makeQuery(name: string, opts: DiscoverOptions = {}, defaultDc?: string): ServiceQuery {
  if (typeof name !== 'string' || name.length === 0) throw invalidOption('Service name must be a non-empty string');
  const tagList = opts.tag === undefined ? [] : typeof opts.tag === 'string' ? [opts.tag] : [...opts.tag];
  for (const t of tagList) if (typeof t !== 'string' || t.length === 0) throw invalidOption('Tags must be non-empty strings');
  const tags = [...new Set(tagList)].sort();
  if (opts.dc !== undefined && (typeof opts.dc !== 'string' || opts.dc === '')) throw invalidOption(`dc must be a non-empty string, got ${describe(opts.dc)}`);
  if (opts.passing !== undefined && typeof opts.passing !== 'boolean') throw invalidOption(`passing must be true or false, got ${describe(opts.passing)}`);
  const dc = opts.dc ?? defaultDc;
  const passing = opts.passing ?? true;
  return { name, tags, dc, passing, key: JSON.stringify([name, tags, dc ?? '', passing]) };
}
