import { describe, expect, it } from 'vitest';
import { BeaconError } from '../../errors/index.js';
import { MAX_BODY_DEPTH, findUnpairedSurrogate, nestedDeeperThan, parseJsonBody } from './body.js';

describe('parseJsonBody', () => {
  it('parses plain bodies, and an empty one as undefined', () => {
    expect(parseJsonBody('{"Name":"web","Port":80,"Tags":["a"]}')).toEqual({ Name: 'web', Port: 80, Tags: ['a'] });
    expect(parseJsonBody('  \n')).toBeUndefined();
  });

  it.each([
    ['__proto__', '{"Name":"x","__proto__":{"polluted":true}}'],
    ['constructor', '{"Meta":{"constructor":{"prototype":{}}}}'],
    ['prototype', '{"prototype":1}'],
    ['__proto__ hidden behind \\u escapes', '{"Name":"x","\\u005f_proto\\u005f_":{"polluted":true}}'],
    ['constructor hidden behind a \\u escape', '{"\\u0063onstructor":1}'],
  ])('refuses a %s key, naming it', (_what, text) => {
    expect(() => parseJsonBody(text)).toThrow(/Request decode failed: key "(__proto__|constructor|prototype)" is not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('takes the forbidden words and escapes inside values', () => {
    expect(parseJsonBody('{"Notes":"see the prototype","Name":"caf\\u00e9"}')).toEqual({ Notes: 'see the prototype', Name: 'café' });
  });

  it('answers malformed JSON with BEACON_ERR_BAD_JSON naming the body', () => {
    let thrown: unknown;
    try {
      parseJsonBody('{"Name":');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'BEACON_ERR_BAD_JSON', field: 'body' });
  });
});

/** The error a call throws (fails the test when it throws nothing). */
function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('parseJsonBody: nesting depth', () => {
  const nested = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);

  it.each([
    ['arrays', nested(10_000, '[', ']')],
    ['objects', nested(10_000, '{"a":', '}')],
    ['a deep value inside a free-form field', `{"Name":"x","Meta":{"k":${nested(10_000, '[', ']')}}}`],
    ['a deep check Definition', `{"Node":"n","Address":"a","Check":{"Name":"c","Definition":${nested(5_000, '{"x":', '}')}}}`],
    ['one level over the bound', nested(MAX_BODY_DEPTH + 1, '[', ']')],
  ])('refuses %s nested too deeply with a 400 naming the body, not a stack overflow', (_what, text) => {
    expect(thrownBy(() => parseJsonBody(text))).toMatchObject({
      code: 'BEACON_ERR_VALIDATION',
      field: 'body',
      message: expect.stringContaining('Request body nested too deeply') as unknown,
    });
  });

  it('takes a body exactly at the bound, and brackets inside strings do not count', () => {
    expect(parseJsonBody(nested(MAX_BODY_DEPTH, '[', ']'))).toBeDefined();
    const brackets = '['.repeat(100) + '{'.repeat(100);
    expect(parseJsonBody(JSON.stringify({ Name: brackets, Notes: `a \\" ${brackets} \\\\`, [brackets]: 1 }))).toMatchObject({ Name: brackets });
  });

  it('counts nesting the same with and without the reviver (a \\u escape)', () => {
    expect(thrownBy(() => parseJsonBody(`{"Name":"caf\\u00e9","x":${nested(MAX_BODY_DEPTH, '[', ']')}}`))).toMatchObject({ field: 'body' });
  });

  it('nestedDeeperThan skips strings, escaped quotes included, and leaves malformed text to JSON.parse', () => {
    expect(nestedDeeperThan('[[["\\"[[[[["]]]', 3)).toBe(false);
    expect(nestedDeeperThan('[[["\\\\"[]]]]', 3)).toBe(true);
    expect(nestedDeeperThan('["unterminated [[[[[', 1)).toBe(false);
  });
});

describe('parseJsonBody: unpaired UTF-16 surrogates', () => {
  it.each([
    ['Name', '{"Name":"a\\ud800"}', 'Invalid Name: contains an unpaired UTF-16 surrogate'],
    ['a low surrogate alone', '{"ID":"\\udc00x"}', 'Invalid ID: contains an unpaired UTF-16 surrogate'],
    ['two halves in the wrong order', '{"Name":"\\ude00\\ud83d"}', 'Invalid Name: contains an unpaired UTF-16 surrogate'],
    ['a tag', '{"Name":"web","Tags":["ok","\\uD800"]}', 'Invalid Tags[1]: contains an unpaired UTF-16 surrogate'],
    ['a meta value', '{"Name":"web","Meta":{"k":"\\ud800"}}', 'Invalid Meta.k: contains an unpaired UTF-16 surrogate'],
    ['a meta key', '{"Name":"web","Meta":{"\\ud800":"v"}}', 'Invalid Meta: a key contains an unpaired UTF-16 surrogate'],
    [
      'a nested check ID',
      '{"Name":"web","Checks":[{"TTL":"5s"},{"CheckID":"\\ud800","TTL":"5s"}]}',
      'Invalid Checks[1].CheckID: contains an unpaired UTF-16 surrogate',
    ],
    ['a node name, spelled in snake case', '{"node":"\\ud800","address":"a"}', 'Invalid node: contains an unpaired UTF-16 surrogate'],
    ['the body itself', '"\\ud800"', 'Invalid body: contains an unpaired UTF-16 surrogate'],
    ['a top-level key', '{"\\ud800":1}', 'Invalid body: a key contains an unpaired UTF-16 surrogate'],
  ])('refuses %s with a 400 naming the field', (_what, text, message) => {
    const err = thrownBy(() => parseJsonBody(text));
    expect(err).toBeInstanceOf(BeaconError);
    expect(err).toMatchObject({ code: 'BEACON_ERR_VALIDATION', message });
  });

  it('takes surrogate pairs (escaped or not) and an escaped backslash before "ud800"', () => {
    expect(parseJsonBody('{"Name":"\\ud83d\\ude00","Tags":["💥"]}')).toEqual({ Name: '😀', Tags: ['💥'] });
    expect(parseJsonBody('{"Name":"\\\\ud800"}')).toEqual({ Name: '\\ud800' });
  });

  it('findUnpairedSurrogate walks deep values without recursion', () => {
    let deep: unknown = 'a\ud800';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnpairedSurrogate({ x: deep })).toEqual({ path: `x${'[0]'.repeat(100_000)}`, inKey: false });
  });
});
