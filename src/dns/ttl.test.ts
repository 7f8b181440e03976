import { describe, expect, it } from 'vitest';
import { serviceTtlLookup } from './ttl.js';

describe('serviceTtlLookup', () => {
  it('prefers exact, then the longest prefix, then the default', () => {
    const ttl = serviceTtlLookup({ default: 5, overrides: { web: 10, 'api*': 1, 'api-internal*': 30 } });
    expect(ttl('web')).toBe(10);
    expect(ttl('WEB')).toBe(10);
    expect(ttl('api-v2')).toBe(1);
    expect(ttl('api-internal-x')).toBe(30);
    expect(ttl('db')).toBe(5);
  });

  it('treats "*" as the default', () => {
    expect(serviceTtlLookup({ default: 5, overrides: { '*': 0 } })('db')).toBe(0);
  });
});
