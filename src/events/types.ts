/** What happened: one event of the catalog, as every server derives it from the same store change. */
export type EventKind =
  | 'service-registered'
  | 'service-updated'
  | 'service-deregistered'
  | 'check-status'
  | 'node-registered'
  | 'node-deregistered'
  | 'node-liveness'
  | 'maintenance-on'
  | 'maintenance-off'
  | 'gap';

/** Every kind, in the order the docs list them. */
export const EVENT_KINDS: readonly EventKind[] = [
  'service-registered',
  'service-updated',
  'service-deregistered',
  'check-status',
  'node-registered',
  'node-deregistered',
  'node-liveness',
  'maintenance-on',
  'maintenance-off',
  'gap',
];

/**
 * One event. `revision` is the store revision of the change (the same on every server of a
 * cluster); `time` is when this server applied it (ms since the epoch). Fields that do not
 * apply to a kind are absent.
 */
export interface BeaconEvent {
  revision: number;
  time: number;
  kind: EventKind;
  datacenter: string;
  node?: string;
  /** Service name. */
  service?: string;
  /** Service instance ID. */
  instance?: string;
  /** Check ID (check-status, node-liveness, maintenance-*). */
  check?: string;
  /** check-status and node-liveness: the status before and after, and the check's output. */
  from?: string;
  to?: string;
  output?: string;
  /** check-status: the check changed status more than the flapping threshold within the window. */
  flapping?: boolean;
  /** maintenance-on: the reason given. */
  reason?: string;
  /** gap: events after `after` up to `revision` are not in this stream (history evicted, or the view was re-listed). */
  after?: number;
}

/** An event with its JSON encoded once (streams and sinks send these bytes to everyone). */
export interface HeldEvent {
  readonly event: BeaconEvent;
  readonly json: string;
}

export const hold = (event: BeaconEvent): HeldEvent => ({ event, json: JSON.stringify(event) });

/** What a stream or a query selects. Empty fields select everything. */
export interface EventFilter {
  service?: string;
  node?: string;
  kinds?: ReadonlySet<EventKind>;
}

/** Gap events always pass: a consumer must learn it missed something whatever it filters on. */
export function matches(e: BeaconEvent, f: EventFilter): boolean {
  if (e.kind === 'gap') return true;
  if (f.kinds && !f.kinds.has(e.kind)) return false;
  if (f.service !== undefined && e.service !== f.service) return false;
  if (f.node !== undefined && e.node !== f.node) return false;
  return true;
}
