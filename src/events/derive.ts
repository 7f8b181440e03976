import { isMaintenanceCheck, type CheckRecord, type RecordChange, type ServiceRecord } from '../catalog/index.js';
import type { BeaconEvent } from './types.js';

/** The node liveness check every node carries (health's serfHealth). */
export const LIVENESS_CHECK_ID = 'serfHealth';

/** Maintenance checks carry their reason in Notes. */
const reasonOf = (c: CheckRecord): string | undefined => c.Notes || undefined;

/** Whether a service record changed in anything a user registered (the store rewrites an unchanged one when its checks change). */
function serviceChanged(a: ServiceRecord, b: ServiceRecord): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}

/**
 * The events one store revision's record changes mean. Pure: every server applies the same
 * changes at the same revision and so derives the same events (only `time` is its own).
 */
export function deriveEvents(changes: readonly RecordChange[], revision: number, time: number, datacenter: string): BeaconEvent[] {
  const out: BeaconEvent[] = [];
  const base = { revision, time, datacenter };
  for (const c of changes) {
    if (c.kind === 'node') {
      if (!c.before && c.after) out.push({ ...base, kind: 'node-registered', node: c.node });
      else if (c.before && !c.after) out.push({ ...base, kind: 'node-deregistered', node: c.node });
    } else if (c.kind === 'service') {
      const rec = c.after ?? c.before;
      if (!rec) continue;
      const at = { ...base, node: c.node, service: rec.Service, instance: c.id };
      if (!c.before && c.after) out.push({ ...at, kind: 'service-registered' });
      else if (c.before && !c.after) out.push({ ...at, kind: 'service-deregistered' });
      else if (c.before && c.after && serviceChanged(c.before, c.after)) out.push({ ...at, kind: 'service-updated' });
    } else {
      const rec = c.after ?? c.before;
      if (!rec) continue;
      const at = {
        ...base,
        node: c.node,
        ...(rec.ServiceName ? { service: rec.ServiceName } : {}),
        ...(rec.ServiceID ? { instance: rec.ServiceID } : {}),
        check: c.id,
      };
      if (isMaintenanceCheck(c.id)) {
        if (!c.before && c.after) out.push({ ...at, kind: 'maintenance-on', ...(reasonOf(c.after) ? { reason: reasonOf(c.after) } : {}) });
        else if (c.before && !c.after) out.push({ ...at, kind: 'maintenance-off' });
        continue;
      }
      if (!c.before || !c.after || c.before.Status === c.after.Status) continue;
      const kind = c.id === LIVENESS_CHECK_ID && rec.ServiceID === '' ? 'node-liveness' : 'check-status';
      out.push({ ...at, kind, from: c.before.Status, to: c.after.Status, output: c.after.Output });
    }
  }
  return out;
}
