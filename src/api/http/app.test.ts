/**
 * The app's own answers, in process: bad input every write route shares (bodies nested too
 * deeply, strings with an unpaired UTF-16 surrogate), paths the router cannot decode, and the
 * 404 and 405 answers, each in Beacon's form with X-Beacon-Error and nothing written.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectRefused, openHttpApp, TEST_NODE, type TestHttpApp } from '../../../test/helpers/http-app.js';

let h: TestHttpApp;
beforeAll(async () => {
  h = await openHttpApp();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.reset());
afterEach(() => {
  expect(h.logger.errors, 'internal errors logged').toEqual([]);
});

const json = { 'content-type': 'application/json' };
const WRITE_ROUTES = [
  '/v1/agent/service/register',
  '/v1/agent/check/register',
  '/v1/agent/check/update/mem',
  '/v1/catalog/register',
  '/v1/catalog/deregister',
  '/v1/agent/service/deregister/web',
  '/v1/agent/check/pass/mem',
  '/v1/agent/maintenance?enable=true',
];
const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);

describe('bodies nested too deeply', () => {
  it.each(WRITE_ROUTES)('PUT %s with a 10,000-deep array, object or Meta value: 400 naming the body', async (url) => {
    for (const payload of [
      deep(10_000, '[', ']'),
      deep(10_000, '{"a":', '}'),
      `{"Name":"web","Meta":{"k":${deep(10_000, '[', ']', '"v"')}}}`,
      `{"Node":"n","Address":"a","Check":{"Name":"c","Definition":${deep(10_000, '{"TTL":', '}', '"5s"')}}}`,
    ]) {
      await expectRefused(
        h,
        { method: 'PUT', url, payload, headers: json },
        {
          status: 400,
          code: 'BEACON_ERR_VALIDATION',
          message: /^Request body nested too deeply: at most 32 levels/,
        },
      );
    }
  });

  it('a real registration, with a check header list (6 levels), is far from the bound', async () => {
    const payload = {
      Node: 'n1',
      Address: '10.0.0.1',
      Service: { Name: 'web', Checks: [{ CheckID: 'c', Definition: { HTTP: 'http://x/', Interval: '10s', Header: { A: ['b'] } } }] },
    };
    expect((await h.app.inject({ method: 'PUT', url: '/v1/catalog/register', payload })).statusCode).toBe(200);
  });
});

describe('strings with an unpaired UTF-16 surrogate', () => {
  it.each([
    ['/v1/agent/service/register', '{"Name":"a\\ud800"}', 'Name'],
    ['/v1/agent/service/register', '{"Name":"web","ID":"\\udc00"}', 'ID'],
    ['/v1/agent/service/register', '{"Name":"web","Tags":["a","\\ud800"]}', 'Tags[1]'],
    ['/v1/agent/service/register', '{"Name":"web","Meta":{"k":"\\ud800"}}', 'Meta.k'],
    ['/v1/agent/service/register', '{"Name":"web","Check":{"CheckID":"\\ud800","TTL":"5s"}}', 'Check.CheckID'],
    ['/v1/agent/check/register', '{"Name":"\\ud800","TTL":"5s"}', 'Name'],
    ['/v1/agent/check/update/mem', '{"Status":"passing","Output":"\\ud800"}', 'Output'],
    ['/v1/catalog/register', '{"Node":"n\\ud800","Address":"10.0.0.1"}', 'Node'],
    ['/v1/catalog/register', '{"Node":"n","Address":"10.0.0.1","NodeMeta":{"k":"\\ud800"}}', 'NodeMeta.k'],
    ['/v1/catalog/register', '{"Node":"n","Address":"10.0.0.1","Service":{"Service":"\\ud800"}}', 'Service.Service'],
    ['/v1/catalog/deregister', '{"Node":"n","ServiceID":"\\ud800"}', 'ServiceID'],
  ])('PUT %s %s: 400 naming %s', async (url, payload, field) => {
    await expectRefused(
      h,
      { method: 'PUT', url, payload, headers: json },
      {
        status: 400,
        code: 'BEACON_ERR_VALIDATION',
        message: new RegExp(`^Invalid ${field.replace(/[[\]]/g, '\\$&')}: contains an unpaired UTF-16 surrogate$`),
      },
    );
  });

  it('a name with a surrogate pair registers and reads back', async () => {
    expect((await h.app.inject({ method: 'PUT', url: '/v1/agent/service/register', payload: '{"Name":"web\\ud83d\\ude00"}', headers: json })).statusCode).toBe(
      200,
    );
    expect(h.catalog.serviceRecord(TEST_NODE, 'web😀')?.record.Service).toBe('web😀');
  });
});

describe('paths the router cannot decode', () => {
  // An encoded surrogate is not UTF-8: decodeURIComponent refuses it as it refuses a bad escape,
  // so no path parameter can ever hold an unpaired surrogate.
  it('decodeURIComponent refuses an encoded surrogate', () => {
    expect(() => decodeURIComponent('%ED%A0%80')).toThrow(URIError);
  });

  it.each([
    ['PUT', '/v1/agent/service/deregister/%ED%A0%80', '%ED%A0%80'],
    ['PUT', '/v1/agent/check/pass/%E0%A4%A', '%E0%A4%A'],
    ['PUT', '/v1/agent/check/deregister/%ZZ', '%ZZ'],
    ['GET', '/v1/catalog/service/%ED%A0%80?passing', '%ED%A0%80'],
    ['GET', '/v1/health/node/%', '%'],
    ['GET', '/v1/agent/service/%ff', '%ff'],
    ['GET', '/v1/nope/%ff', '%ff'],
  ] as const)('%s %s: 400 naming the path and the bad segment', async (method, url, seg) => {
    const body = await expectRefused(h, { method, url }, { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'path' });
    expect(body).toBe(`Invalid path: "${seg}" is not valid percent-encoded UTF-8`);
  });

  it('a bad escape under /v1/beacon/ answers JSON', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/beacon/pick/%ED%A0%80' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-beacon-error']).toBe('BEACON_ERR_VALIDATION');
    expect(res.json()).toEqual({ code: 'BEACON_ERR_VALIDATION', message: 'Invalid path: "%ED%A0%80" is not valid percent-encoded UTF-8', field: 'path' });
  });

  it('a path parameter over 512 characters: 414 BEACON_ERR_URI_TOO_LONG', async () => {
    await expectRefused(
      h,
      { method: 'GET', url: `/v1/catalog/service/${'a'.repeat(600)}` },
      { status: 414, code: 'BEACON_ERR_URI_TOO_LONG', message: /^URI too long: a path parameter is longer than 512 characters$/ },
    );
  });
});

describe('404 and 405', () => {
  it('an unknown path answers an empty 404 with the code, as Consul; under /v1/beacon/ JSON', async () => {
    const consul = await h.app.inject({ method: 'GET', url: '/v1/nope' });
    expect(consul.statusCode).toBe(404);
    expect(consul.body).toBe('');
    expect(consul.headers['x-beacon-error']).toBe('BEACON_ERR_NOT_FOUND');
    expect(consul.headers['x-consul-index']).toMatch(/^[1-9]\d*$/);
    const beacon = await h.app.inject({ method: 'GET', url: '/v1/beacon/nope?x=1' });
    expect(beacon.statusCode).toBe(404);
    expect(beacon.headers['x-beacon-error']).toBe('BEACON_ERR_NOT_FOUND');
    expect(beacon.json()).toEqual({ code: 'BEACON_ERR_NOT_FOUND', message: 'No route for GET /v1/beacon/nope' });
  });

  it('a wrong method answers 405 with Allow: Consul text, or JSON under /v1/beacon/', async () => {
    await expectRefused(
      h,
      { method: 'DELETE', url: '/v1/catalog/services' },
      { status: 405, code: 'BEACON_ERR_METHOD_NOT_ALLOWED', message: /^method DELETE not allowed$/ },
    );
    const res = await h.app.inject({ method: 'DELETE', url: '/v1/beacon/pick/web' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(res.headers['x-beacon-error']).toBe('BEACON_ERR_METHOD_NOT_ALLOWED');
    expect(res.json()).toEqual({ code: 'BEACON_ERR_METHOD_NOT_ALLOWED', message: 'method DELETE not allowed' });
  });
});
