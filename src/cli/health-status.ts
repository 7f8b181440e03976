/** A check as the health endpoints answer it (the fields read here). */
export interface CheckLike {
  CheckID?: string;
  Status?: string;
}

/** The aggregated status of one instance, Consul's order: maintenance > critical > warning > passing. */
export type AggregatedStatus = 'maintenance' | 'critical' | 'warning' | 'passing';

/**
 * Aggregates an instance's checks (node checks included) as Consul's `HealthChecks.AggregatedStatus`
 * does: a maintenance check (`_node_maintenance`, `_service_maintenance:<id>`) wins, then any
 * critical, then any warning; no checks at all is passing.
 *
 * @example
 * aggregatedStatus([{ CheckID: 'serfHealth', Status: 'passing' }, { CheckID: 'service:web', Status: 'warning' }]); // 'warning'
 */
export function aggregatedStatus(checks: readonly CheckLike[] | undefined): AggregatedStatus {
  let critical = false;
  let warning = false;
  for (const c of checks ?? []) {
    const id = c.CheckID ?? '';
    if (id === '_node_maintenance' || id.startsWith('_service_maintenance:')) return 'maintenance';
    if (c.Status === 'critical') critical = true;
    else if (c.Status === 'warning') warning = true;
  }
  return critical ? 'critical' : warning ? 'warning' : 'passing';
}
