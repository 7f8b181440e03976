import { describe, expect, it } from 'vitest';
import { parseJsonBody } from './body.js';

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
