// One shared snapshot of nodes, instances and checks, reloaded when events say it changed.
// A check transition is applied to it at once (no round trip), then confirmed by the reload.
import { useEffect, useState } from 'preact/hooks';
import { loadSnapshot, Unreachable, type Snapshot, type Status } from './api';
import { live } from './live';

type Listener = (s: Snapshot | undefined, error: string | undefined) => void;

let current: Snapshot | undefined;
let error: string | undefined;
let loading: Promise<void> | undefined;
let again = false;
let timer: number | undefined;
const listeners = new Set<Listener>();

const emit = () => {
  for (const l of listeners) l(current, error);
};

export async function reload(): Promise<void> {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      current = await loadSnapshot();
      error = undefined;
      live.start(current.index);
    } catch (err) {
      if (err instanceof Unreachable) live.lost();
      else error = (err as Error).message;
    } finally {
      loading = undefined;
      emit();
      if (again) {
        again = false;
        void reload();
      }
    }
  })();
  return loading;
}

/** Reloads soon, once for a burst of events. */
export function reloadSoon(ms = 250): void {
  clearTimeout(timer);
  timer = window.setTimeout(() => void reload(), ms);
}

live.onEvent((e) => {
  if (current && (e.kind === 'check-status' || e.kind === 'node-liveness') && e.node && e.check && e.to) {
    const to = e.to as Status;
    current = {
      ...current,
      checks: current.checks.map((c) => (c.Node === e.node && c.CheckID === e.check ? { ...c, Status: to, Output: e.output ?? c.Output } : c)),
    };
    emit();
  }
  reloadSoon();
});
live.onContact((c) => {
  if (c === 'back') void reload();
});

export function useSnapshot(): { snapshot: Snapshot | undefined; error: string | undefined } {
  const [state, setState] = useState({ snapshot: current, error });
  useEffect(() => {
    const l: Listener = (snapshot, err) => setState({ snapshot, error: err });
    listeners.add(l);
    if (!current && !loading) void reload();
    return () => void listeners.delete(l);
  }, []);
  return state;
}
