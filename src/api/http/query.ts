/** Consul's common query parameters (as Consul reads them). */
import { parseBool, parseDuration } from '../../config/index.js';
import { BeaconError, invalid } from '../../errors/index.js';
import { compileFilter, type FieldSpec } from './filter/index.js';

export type Query = Record<string, string | string[] | undefined>;

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export interface ReadOptions {
  /** 0 = not blocking. */
  index: number;
  waitMs: number;
  consistency: 'default' | 'stale' | 'consistent';
  filter: ((v: unknown) => boolean) | undefined;
  nodeMeta: Record<string, string> | undefined;
}

/** The last value of a parameter given once or several times. */
export function one(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function all(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * A presence flag such as `?passing`: absent is false, present with no value is true, an
 * explicit value is read by Go's strconv.ParseBool (`parseBool`), as Consul's
 * getBoolQueryParam does — so `?passing=false` is false and `?passing=maybe` answers 400.
 */
export function boolParam(q: Query, name: string): boolean {
  const v = one(q, name);
  if (v === undefined) return false;
  if (v === '') return true;
  const b = parseBool(v);
  if (b === undefined) throw invalid(name, `Invalid value for ?${name}: "${v}" is not a boolean`);
  return b;
}

/** Rejects a dc other than ours with Consul's "No path to datacenter". */
export function checkDatacenter(q: Query, local: string): void {
  const dc = one(q, 'dc');
  if (dc !== undefined && dc !== '' && dc !== local) {
    throw new BeaconError('BEACON_ERR_NO_PATH_TO_DC', `No path to datacenter: "${dc}" (this server serves "${local}")`, { field: 'dc' });
  }
}

export function parseNodeMeta(q: Query): Record<string, string> | undefined {
  const list = all(q, 'node-meta');
  if (list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf(':');
    if (i <= 0) throw invalid('node-meta', `Invalid node-meta: "${kv}" must be key:value`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export function parseReadOptions(q: Query, datacenter: string, filterFields?: FieldSpec): ReadOptions {
  checkDatacenter(q, datacenter);
  const stale = one(q, 'stale') !== undefined;
  const consistent = one(q, 'consistent') !== undefined;
  if (stale && consistent) throw invalid('consistent', 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  let index = 0;
  const rawIndex = one(q, 'index');
  if (rawIndex !== undefined && rawIndex !== '') {
    if (!/^\d{1,20}$/.test(rawIndex) || !Number.isSafeInteger(Number(rawIndex))) {
      throw invalid('index', `Invalid index: "${rawIndex}" is not an unsigned integer`);
    }
    index = Number(rawIndex);
  }
  let waitMs = DEFAULT_WAIT_MS;
  const rawWait = one(q, 'wait');
  if (rawWait !== undefined && rawWait !== '') {
    const ms = parseDuration(rawWait);
    if (ms === undefined) throw invalid('wait', `Invalid wait time: "${rawWait}" (use a duration such as 30s, 5m or 120000ms)`);
    // As Consul's blockingQuery: a zero wait means the default, not "answer at once".
    waitMs = ms <= 0 ? DEFAULT_WAIT_MS : Math.min(ms, MAX_WAIT_MS);
  }
  const filterExpr = one(q, 'filter');
  return {
    index,
    waitMs,
    consistency: consistent ? 'consistent' : stale ? 'stale' : 'default',
    filter: filterExpr ? compileFilter(filterExpr, filterFields ? { fields: filterFields } : {}) : undefined,
    nodeMeta: parseNodeMeta(q),
  };
}
