import { BeaconClientError, invalidOption } from '../client-error.js';
import { describe } from '../validate.js';
import { parseHealthEntries } from './health-entries.js';
import type { ServiceSnapshot } from './types.js';

/**
 * Where `discover` looks when the service has no healthy instance in its own datacenter: the
 * listed datacenters in order, or a prepared query (by name or ID) that the registry runs with
 * its own failover rules.
 */
export type FailoverOption = readonly string[] | { readonly query: string };

/** Checks a failover option; the list form gives non-empty names, at most 64. */
export function checkFailover(v: unknown): FailoverOption | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length > 64) throw invalidOption('failover: at most 64 datacenters');
    for (const dc of v) if (typeof dc !== 'string' || dc === '') throw invalidOption(`failover: datacenters must be non-empty strings, got ${describe(dc)}`);
    return v as string[];
  }
  if (v && typeof v === 'object' && typeof (v as { query?: unknown }).query === 'string' && (v as { query: string }).query !== '') {
    return v as { query: string };
  }
  throw invalidOption(`failover must be a list of datacenters or { query: '<prepared query name>' }, got ${describe(v)}`);
}

/**
 * Tries `local`, then each datacenter of `dcs` while the answer has no instance; a datacenter
 * that cannot be asked is skipped. Resolves with the first snapshot that has instances, else the
 * local one (or rejects with the local error when nothing answered at all).
 */
export async function discoverWithFailover(
  local: () => Promise<ServiceSnapshot>,
  dcs: readonly string[],
  inDc: (dc: string) => Promise<ServiceSnapshot>,
): Promise<ServiceSnapshot> {
  let first: ServiceSnapshot | undefined;
  let firstErr: unknown;
  try {
    first = await local();
    if (first.instances.length > 0) return first;
  } catch (err) {
    firstErr = err;
  }
  for (const dc of dcs) {
    try {
      const s = await inDc(dc);
      if (s.instances.length > 0) return s;
    } catch {
      // the next one
    }
  }
  if (first) return first;
  throw firstErr;
}

/** A prepared query's execute answer as a snapshot (instances marked with the datacenter that answered). */
export function snapshotFromQuery(service: string, body: unknown, index: number | undefined): ServiceSnapshot {
  const b = body as { Service?: unknown; Nodes?: unknown; Datacenter?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.Nodes)) {
    throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `prepared query ${JSON.stringify(service)}: the answer is not a query result`);
  }
  const updatedAt = Date.now();
  return {
    service: typeof b.Service === 'string' ? b.Service : service,
    instances: parseHealthEntries(b.Nodes, typeof b.Datacenter === 'string' ? b.Datacenter : undefined),
    stale: false,
    get ageMs() {
      return Date.now() - updatedAt;
    },
    updatedAt,
    error: undefined,
    index,
  };
}
