import { describe, expect, it } from 'vitest';
import { parseExchange } from './exchange.js';

describe('parseExchange', () => {
  it('takes a well-formed message and fills Dns and Version when missing', () => {
    expect(parseExchange({ Datacenter: 'dc2', Node: 's2', Servers: [{ Node: 's2', Datacenter: 'dc2', Addr: '10.0.0.2', Http: '10.0.0.2:8500' }] })).toEqual({
      Datacenter: 'dc2',
      Node: 's2',
      Servers: [{ Node: 's2', Datacenter: 'dc2', Addr: '10.0.0.2', Http: '10.0.0.2:8500', Dns: '', Version: '' }],
    });
  });

  it('refuses what is not a message, and leaves out servers with a bad entry', () => {
    for (const bad of [
      null,
      'x',
      {},
      { Datacenter: 'bad name', Node: 'n', Servers: [] },
      { Datacenter: 'dc2', Node: '', Servers: [] },
      { Datacenter: 'dc2', Node: 'n' },
    ]) {
      expect(parseExchange(bad)).toBeUndefined();
    }
    const m = parseExchange({
      Datacenter: 'dc2',
      Node: 'n',
      Servers: [
        { Node: 'a', Datacenter: 'dc2', Addr: 'x', Http: 'no-port' },
        { Node: 'b', Datacenter: 'dc 2', Addr: 'x', Http: 'h:1' },
        null,
        { Node: 'c', Datacenter: 'dc2', Addr: 'x', Http: 'h:1', Dns: 'bad' },
      ],
    });
    expect(m?.Servers).toEqual([{ Node: 'c', Datacenter: 'dc2', Addr: 'x', Http: 'h:1', Dns: '', Version: '' }]);
  });
});
