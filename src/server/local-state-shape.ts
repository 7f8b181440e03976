/**
 * Shape checks for what the local state file holds, so that a damaged file is reported at
 * start instead of being half-read into records the catalog would then be "repaired" to.
 */
import type { CheckRecord, ServiceRecord } from '../catalog/index.js';
import type { EntrySource, LocalOp, PersistedState } from './local-state.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every(isStr);
const isStrMap = (v: unknown): boolean => isObj(v) && Object.values(v).every(isStr);
const isSource = (v: unknown): v is EntrySource => v === 'api' || v === 'config';

export function isServiceRecord(v: unknown): v is ServiceRecord {
  if (!isObj(v)) return false;
  const w = v.Weights;
  return (
    isStr(v.ID) &&
    v.ID !== '' &&
    isStr(v.Service) &&
    isStrings(v.Tags) &&
    isStr(v.Address) &&
    isObj(v.TaggedAddresses) &&
    isStrMap(v.Meta) &&
    typeof v.Port === 'number' &&
    isObj(w) &&
    typeof w.Passing === 'number' &&
    typeof w.Warning === 'number' &&
    typeof v.EnableTagOverride === 'boolean' &&
    isStr(v.Kind)
  );
}

export function isCheckRecord(v: unknown): v is CheckRecord {
  if (!isObj(v)) return false;
  return (
    isStr(v.Node) &&
    isStr(v.CheckID) &&
    v.CheckID !== '' &&
    isStr(v.Name) &&
    isStr(v.Notes) &&
    isStr(v.Output) &&
    (v.Status === 'passing' || v.Status === 'warning' || v.Status === 'critical') &&
    isStr(v.ServiceID) &&
    isStr(v.ServiceName) &&
    isStrings(v.ServiceTags) &&
    isStr(v.Type) &&
    isObj(v.Definition)
  );
}

export function isLocalOp(v: unknown): v is LocalOp {
  if (!isObj(v)) return false;
  switch (v.op) {
    case 'node':
      return isStr(v.id) && isStrMap(v.meta);
    case 'service':
      return isSource(v.source) && isServiceRecord(v.service);
    case 'check':
      return isSource(v.source) && isCheckRecord(v.check);
    case 'service-':
    case 'check-':
      return isStr(v.id);
    default:
      return false;
  }
}

export function isPersistedState(v: unknown): v is PersistedState {
  if (!isObj(v) || !isObj(v.node) || !isStr(v.node.ID) || !isStrMap(v.node.Meta)) return false;
  if (!Array.isArray(v.services) || !Array.isArray(v.checks)) return false;
  return (
    v.services.every((s) => isObj(s) && isSource(s.source) && isServiceRecord(s.service)) &&
    v.checks.every((c) => isObj(c) && isSource(c.source) && isCheckRecord(c.check))
  );
}
