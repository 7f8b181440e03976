import type { ServiceChange, ServiceInstance } from './types.js';

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameMeta(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** True when two versions of an instance differ in anything a caller can see. */
export function instanceChanged(a: ServiceInstance, b: ServiceInstance): boolean {
  return (
    a.address !== b.address ||
    a.port !== b.port ||
    a.status !== b.status ||
    a.node !== b.node ||
    a.datacenter !== b.datacenter ||
    a.weight !== b.weight ||
    a.weights.passing !== b.weights.passing ||
    a.weights.warning !== b.weights.warning ||
    !sameList(a.tags, b.tags) ||
    !sameMeta(a.meta, b.meta)
  );
}

/**
 * What changed from `before` to `after`, matching instances by id: added, removed, and changed
 * (same id, different address, port, tags, meta, status or weights).
 */
export function diffInstances(service: string, before: readonly ServiceInstance[], after: readonly ServiceInstance[]): ServiceChange {
  const old = new Map(before.map((i) => [i.id, i]));
  const added: ServiceInstance[] = [];
  const changed: Array<{ before: ServiceInstance; after: ServiceInstance }> = [];
  for (const inst of after) {
    const prev = old.get(inst.id);
    if (!prev) added.push(inst);
    else {
      old.delete(inst.id);
      if (instanceChanged(prev, inst)) changed.push({ before: prev, after: inst });
    }
  }
  return { service, added, removed: [...old.values()], changed, instances: after };
}

/** True when a change carries nothing. */
export function isEmptyChange(change: ServiceChange): boolean {
  return change.added.length === 0 && change.removed.length === 0 && change.changed.length === 0;
}
