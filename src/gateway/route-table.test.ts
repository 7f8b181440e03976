import { describe, expect, it } from 'vitest';
import { parseUrlprefixTag, RouteTable, stripPath, underPrefix, type RouteSpec } from './route-table.js';
import { parseRoutesFile } from './routes-file.js';

const file = (prefix: string, service: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({
  source: 'file',
  host: undefined,
  prefix,
  service,
  tag: undefined,
  dc: undefined,
  strip: undefined,
  origin: 'test',
  ...extra,
});

describe('urlprefix tags', () => {
  it('reads path, host and strip', () => {
    expect(parseUrlprefixTag('api', 'urlprefix-/api')).toMatchObject({
      source: 'tag',
      host: undefined,
      prefix: '/api',
      tag: 'urlprefix-/api',
      strip: undefined,
    });
    expect(parseUrlprefixTag('shop', 'urlprefix-Shop.Example.com/')).toMatchObject({ host: 'shop.example.com', prefix: '/' });
    expect(parseUrlprefixTag('api', 'urlprefix-/api strip=/api')).toMatchObject({ prefix: '/api', strip: '/api' });
  });

  it.each([
    ['urlprefix-api', 'no path'],
    ['urlprefix-bad_host!/x', 'is not a host name'],
    ['urlprefix-/api proto=https', 'option "proto=https" is not supported'],
    ['urlprefix-/a?b', 'may not hold'],
  ])('rejects %s with a reason', (tag, reason) => {
    const r = parseUrlprefixTag('svc', tag);
    expect('reason' in r && r.reason).toContain(reason);
  });
});

describe('paths', () => {
  it('matches prefixes on segment boundaries', () => {
    expect(underPrefix('/api', '/api')).toBe(true);
    expect(underPrefix('/api/x', '/api')).toBe(true);
    expect(underPrefix('/apix', '/api')).toBe(false);
    expect(underPrefix('/anything', '/')).toBe(true);
    expect(underPrefix('/api/x', '/api/')).toBe(true);
  });

  it('strips a prefix and keeps a leading slash', () => {
    expect(stripPath('/api/users', '/api')).toBe('/users');
    expect(stripPath('/api', '/api')).toBe('/');
    expect(stripPath('/api/users', '/api/')).toBe('/users');
    expect(stripPath('/other', '/api')).toBe('/other');
    expect(stripPath('/x', undefined)).toBe('/x');
  });
});

describe('route table', () => {
  it('orders by the conflict rule: longest prefix, named host, routes file, service name', () => {
    const t = new RouteTable(
      [file('/api', 'from-file'), file('/', 'root')],
      new Map([
        ['b-tagged', ['urlprefix-/api', 'v1']],
        ['a-tagged', ['urlprefix-/api']],
        ['deep', ['urlprefix-/api/v2']],
        ['shop', ['urlprefix-shop.example.com/api']],
        ['broken', ['urlprefix-nopath']],
      ]),
    );
    expect(t.routes.map((r) => `${r.id} ${r.service} ${r.shadowed ? 'shadowed' : ''}`.trim())).toEqual([
      '/api/v2 deep',
      'shop.example.com/api shop',
      '/api from-file',
      '/api a-tagged shadowed',
      '/api b-tagged shadowed',
      '/ root',
    ]);
    expect(t.rejected).toEqual([{ service: 'broken', tag: 'urlprefix-nopath', reason: 'no path: expected urlprefix-[host]/path' }]);
    expect(t.match('x', '/api/v2/items')?.service).toBe('deep');
    expect(t.match('shop.example.com', '/api/items')?.service).toBe('shop');
    expect(t.match('other.example.com', '/api/items')?.service).toBe('from-file');
    expect(t.match('x', '/apix')?.service).toBe('root');
  });

  it('is empty without routes', () => {
    expect(new RouteTable([], new Map()).match('x', '/')).toBeUndefined();
  });
});

describe('routes file', () => {
  it('reads routes with every field', () => {
    const routes = parseRoutesFile(
      'r.json',
      JSON.stringify({
        routes: [
          { prefix: '/shop', service: 'shop', tag: 'v2', dc: 'dc2', strip: true, host: 'Shop.Example.com' },
          { prefix: '/', service: 'web' },
        ],
      }),
    );
    expect(routes[0]).toEqual({
      source: 'file',
      host: 'shop.example.com',
      prefix: '/shop',
      service: 'shop',
      tag: 'v2',
      dc: 'dc2',
      strip: '/shop',
      origin: 'r.json routes[0]',
    });
    expect(routes[1]).toMatchObject({ prefix: '/', service: 'web', strip: undefined, host: undefined });
  });

  it.each([
    ['{', '(file): not valid JSON'],
    ['[]', '(file): expected an object'],
    ['{"routes": {}}', 'routes: required, an array'],
    ['{"routes": [], "extra": 1}', 'extra: unknown key'],
    ['{"routes": [1]}', 'routes[0]: expected an object'],
    ['{"routes": [{"service": "a"}]}', 'routes[0].prefix: required'],
    ['{"routes": [{"prefix": "api", "service": "a"}]}', 'routes[0].prefix: required, a path starting with "/"'],
    ['{"routes": [{"prefix": "/a"}]}', 'routes[0].service: required'],
    ['{"routes": [{"prefix": "/a", "service": "a", "strip": "yes"}]}', 'routes[0].strip: must be true or false'],
    ['{"routes": [{"prefix": "/a", "service": "a", "tag": ""}]}', 'routes[0].tag: must be a non-empty string'],
    ['{"routes": [{"prefix": "/a", "service": "a", "dc": "a b"}]}', 'routes[0].dc: must be a datacenter name'],
    ['{"routes": [{"prefix": "/a", "service": "a", "host": "a b"}]}', 'routes[0].host: must be a host name'],
    ['{"routes": [{"prefix": "/a", "service": "a", "sevice": "b"}]}', 'routes[0].sevice: unknown key'],
    ['{"routes": [{"prefix": "/a", "service": "a"}, {"prefix": "/a", "service": "b"}]}', 'routes[1].prefix: "/a" is already routed by routes[0]'],
  ])('rejects %s naming the file and field', (text, message) => {
    expect(() => parseRoutesFile('/etc/r.json', text)).toThrow(`routes file /etc/r.json: ${message}`);
  });
});
