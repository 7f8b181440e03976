import { describe, expect, it } from 'vitest';
import { BeaconError } from '../errors/index.js';
import { checkKey, nodeChecksPrefix, nodeKey, nodeServicesPrefix, parseKey, serviceKey } from './keys.js';

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('catalog keys', () => {
  it('round-trip any well-formed name, slashes and astral characters included', () => {
    expect(parseKey(serviceKey('node/1', 'web/1 😀'))).toEqual({ kind: 'service', node: 'node/1', id: 'web/1 😀' });
    expect(parseKey(checkKey('n', 'service:web:1'))).toEqual({ kind: 'check', node: 'n', id: 'service:web:1' });
    expect(parseKey(nodeKey('n%1'))).toEqual({ kind: 'node', node: 'n%1' });
  });

  it.each([
    ['nodeKey', () => nodeKey('a\ud800'), 'Node'],
    ['serviceKey (node)', () => serviceKey('\udc00', 'web'), 'Node'],
    ['serviceKey (id)', () => serviceKey('n', 'web\ud800'), 'ServiceID'],
    ['checkKey (id)', () => checkKey('n', '\ud800'), 'CheckID'],
    ['nodeServicesPrefix', () => nodeServicesPrefix('\ud800'), 'Node'],
    ['nodeChecksPrefix', () => nodeChecksPrefix('\ud800'), 'Node'],
  ])('%s of a name with an unpaired surrogate is a validation error naming the field, not a URIError', (_what, f, field) => {
    const err = thrownBy(f);
    expect(err).toBeInstanceOf(BeaconError);
    expect(err).toMatchObject({ code: 'BEACON_ERR_VALIDATION', field, message: `Invalid ${field}: contains an unpaired UTF-16 surrogate` });
  });

  it('parseKey passes over keys Beacon cannot have written (a bad %-escape)', () => {
    expect(parseKey('beacon/catalog/nodes/%E0%A4%A')).toBeUndefined();
    expect(parseKey('beacon/catalog/services/n/%ED%A0%80')).toBeUndefined();
    expect(parseKey('beacon/catalog/checks/%/c')).toBeUndefined();
  });
});
