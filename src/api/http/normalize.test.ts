import { describe, expect, it } from 'vitest';
import { BeaconError } from '../../errors/index.js';
import { MAX_BODY_DEPTH } from './body.js';
import { CATALOG_REGISTER_SHAPE, SERVICE_SHAPE, normalizeKeys, normalizeTaggedAddresses } from './normalize.js';

/** An array nested `n` deep around `inner`, built without recursion. */
function deepArray(n: number, inner: unknown): unknown {
  let v = inner;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('normalizeKeys', () => {
  it('makes the keys of known structs canonical and leaves user maps alone', () => {
    expect(normalizeKeys({ name: 'web', enable_tag_override: true, meta: { some_key: 'v' }, checks: [{ check_id: 'c', ttl: '5s' }] }, SERVICE_SHAPE)).toEqual({
      Name: 'web',
      EnableTagOverride: true,
      Meta: { some_key: 'v' },
      Checks: [{ CheckID: 'c', TTL: '5s' }],
    });
  });

  it.each([
    ['the body', (v: unknown) => v, SERVICE_SHAPE],
    ['Checks', (v: unknown) => ({ Name: 'web', Checks: v }), SERVICE_SHAPE],
    ['Service.Check', (v: unknown) => ({ Node: 'n', Service: { Name: 'web', Check: v } }), CATALOG_REGISTER_SHAPE],
  ])('refuses arrays nested 10,000 deep in %s with a 400 naming the body, not a RangeError', (_where, wrap, shape) => {
    const err = thrownBy(() => normalizeKeys(wrap(deepArray(10_000, {})), shape));
    expect(err).toBeInstanceOf(BeaconError);
    expect(err).toMatchObject({ code: 'BEACON_ERR_VALIDATION', field: 'body', message: expect.stringContaining('Request body nested too deeply') as unknown });
  });

  it('takes nesting up to the bound', () => {
    expect(() => normalizeKeys(deepArray(MAX_BODY_DEPTH - 1, { name: 'x' }), SERVICE_SHAPE)).not.toThrow();
    expect(() => normalizeKeys(deepArray(MAX_BODY_DEPTH, { name: 'x' }), SERVICE_SHAPE)).toThrow(BeaconError);
  });

  it('does not walk user maps: a deep value there is left to the schema', () => {
    const meta = { k: deepArray(10_000, 'v') };
    expect((normalizeKeys({ Name: 'web', Meta: meta }, SERVICE_SHAPE) as { Meta: unknown }).Meta).toBe(meta);
  });

  it('normalizeTaggedAddresses bounds a deep value too', () => {
    expect(() => normalizeTaggedAddresses({ lan: deepArray(10_000, {}) })).toThrow(BeaconError);
  });
});
