import type { AggregatedStatus, CheckRecord, Indexed } from './types.js';

export const NODE_MAINTENANCE_CHECK = '_node_maintenance';
export const SERVICE_MAINTENANCE_PREFIX = '_service_maintenance:';

export function isMaintenanceCheck(checkId: string): boolean {
  return checkId === NODE_MAINTENANCE_CHECK || checkId.startsWith(SERVICE_MAINTENANCE_PREFIX);
}

/** Worst of the checks: maintenance > critical > warning > passing; no checks is passing. */
export function aggregateStatus(checks: readonly Indexed<CheckRecord>[]): AggregatedStatus {
  let worst: AggregatedStatus = 'passing';
  for (const c of checks) {
    if (isMaintenanceCheck(c.record.CheckID)) return 'maintenance';
    const s = c.record.Status;
    if (s === 'critical') worst = 'critical';
    else if (s === 'warning' && worst === 'passing') worst = 'warning';
  }
  return worst;
}
