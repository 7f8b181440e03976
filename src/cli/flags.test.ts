import { describe, expect, it } from 'vitest';
import { isBeaconClientError } from '../client/index.js';
import { collect, nodeMetaQuery, parseKeyValues, parsePort } from './flags.js';

describe('flag parsing', () => {
  it('collects repeated values in order', () => {
    expect(collect('b', collect('a'))).toEqual(['a', 'b']);
  });

  it('parses key=value pairs; the value may hold "="; a later key wins', () => {
    expect(parseKeyValues('--meta', ['v=1', 'x=a=b', 'v=2', 'empty='])).toEqual({ v: '2', x: 'a=b', empty: '' });
    expect(parseKeyValues('--meta', undefined)).toEqual({});
  });

  it('rejects a pair without a key or "=", naming the flag and the value', () => {
    for (const bad of ['novalue', '=x']) {
      let err: unknown;
      try {
        parseKeyValues('--meta', [bad]);
      } catch (e) {
        err = e;
      }
      expect(isBeaconClientError(err, 'BEACON_ERR_VALIDATION')).toBe(true);
      expect((err as Error).message).toBe(`invalid --meta "${bad}": expected key=value`);
    }
  });

  it('turns --node-meta pairs into the API form key:value', () => {
    expect(nodeMetaQuery(['rack=r1', 'zone=a'])).toEqual(['rack:r1', 'zone:a']);
    expect(nodeMetaQuery([])).toBeUndefined();
  });

  it('takes ports from 0 to 65535 only', () => {
    expect(parsePort('--port', '8080')).toBe(8080);
    expect(parsePort('--port', '0')).toBe(0);
    for (const bad of ['65536', '-1', '80.5', 'http', '', '1e3']) expect(() => parsePort('--port', bad)).toThrow(`invalid --port "${bad}"`);
  });
});
