import { describe, expect, it } from 'vitest';
import { EVENT_KINDS } from '../events/index.js';
import { CLI_EVENT_KINDS, formatEvent } from './events-format.js';
import { eventsQuery } from './events-command.js';

describe('beacon events', () => {
  it('takes the kinds the server knows', () => {
    expect(CLI_EVENT_KINDS).toEqual(EVENT_KINDS);
  });

  it('prints one readable line per event', () => {
    const t = Date.UTC(2026, 4, 1, 10, 0, 0);
    expect(
      formatEvent({
        revision: 42,
        time: t,
        kind: 'check-status',
        node: 'a',
        service: 'web',
        instance: 'web-1',
        check: 'c1',
        from: 'passing',
        to: 'critical',
        output: 'HTTP\n500',
        flapping: true,
      }),
    ).toBe('2026-05-01T10:00:00.000Z  #42  check-status  web/web-1 on a  c1 passing -> critical "HTTP 500" (flapping)');
    expect(formatEvent({ revision: 7, time: t, kind: 'node-registered', node: 'a' })).toBe('2026-05-01T10:00:00.000Z  #7  node-registered  a');
    expect(formatEvent({ revision: 9, time: t, kind: 'gap', after: 3 })).toMatch(/gap  events after revision 3 up to 9/);
  });

  it('refuses bad flags before sending anything', () => {
    expect(() => eventsQuery({ since: 'x' })).toThrow(/--since/);
    expect(() => eventsQuery({ kind: ['nope'] })).toThrow(/--kind: "nope"/);
    expect(() => eventsQuery({ service: '' })).toThrow(/--service/);
    expect(eventsQuery({ since: '5', kind: ['gap', 'check-status'], service: 'web' })).toEqual({ since: '5', service: 'web', kind: 'gap,check-status' });
  });
});
