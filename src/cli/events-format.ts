/** The event kinds `beacon events --kind` takes (the server's list: events-format.test.ts keeps them equal). */
export const CLI_EVENT_KINDS: readonly string[] = [
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

/** An event line as the server streams it (only the fields printed here). */
export interface EventLine {
  revision: number;
  time: number;
  kind: string;
  node?: string;
  service?: string;
  instance?: string;
  check?: string;
  from?: string;
  to?: string;
  output?: string;
  flapping?: boolean;
  reason?: string;
  after?: number;
}

const MAX_OUTPUT = 120;

/**
 * One readable line per event:
 * `2026-05-01T10:00:00.000Z  #42  check-status  web/web-1 on node-a  service:web-1 passing -> critical "HTTP 500" (flapping)`.
 */
export function formatEvent(e: EventLine): string {
  const when = new Date(e.time).toISOString();
  if (e.kind === 'gap') return `${when}  #${e.revision}  gap  events after revision ${e.after ?? 0} up to ${e.revision} are not in the history`;
  const who = e.instance !== undefined ? `${e.service ?? ''}/${e.instance}${e.node ? ` on ${e.node}` : ''}` : (e.node ?? '');
  let what = '';
  if (e.kind === 'check-status' || e.kind === 'node-liveness') {
    const out = (e.output ?? '').replace(/\s+/g, ' ').trim();
    what = `  ${e.check ?? ''} ${e.from ?? '?'} -> ${e.to ?? '?'}${out ? ` ${JSON.stringify(out.length > MAX_OUTPUT ? `${out.slice(0, MAX_OUTPUT - 1)}…` : out)}` : ''}${e.flapping ? ' (flapping)' : ''}`;
  } else if (e.kind === 'maintenance-on' && e.reason) {
    what = `  ${JSON.stringify(e.reason)}`;
  }
  return `${when}  #${e.revision}  ${e.kind}  ${who}${what}`;
}
