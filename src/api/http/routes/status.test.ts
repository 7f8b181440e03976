/**
 * /v1/status/*, in process: this server is its own leader and only peer, answered as JSON at
 * the index of its own node record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consulIndex, expectRefused, okJson, openHttpApp, TEST_NODE, type TestHttpApp } from '../../../../test/helpers/http-app.js';

let h: TestHttpApp;
beforeAll(async () => {
  h = await openHttpApp();
});
afterAll(async () => {
  await h?.close();
});

describe('status routes', () => {
  it("GET /v1/status/leader: this server's address as a JSON string", async () => {
    const res = await h.app.inject('/v1/status/leader');
    expect(res.body).toBe('"127.0.0.1:8300"');
    expect(okJson(res)).toBe('127.0.0.1:8300');
    expect(consulIndex(res)).toBe(h.catalog.nodeIndex(TEST_NODE));
  });

  it('GET /v1/status/peers: a list of one', async () => {
    const res = await h.app.inject('/v1/status/peers');
    expect(okJson(res)).toEqual(['127.0.0.1:8300']);
    expect(consulIndex(res)).toBe(h.catalog.nodeIndex(TEST_NODE));
  });

  it('the advertised address, when configured', async () => {
    const other = await openHttpApp({ config: { advertiseAddr: '192.0.2.10' } });
    try {
      expect(okJson(await other.app.inject('/v1/status/leader'))).toBe('192.0.2.10:8300');
      expect(okJson(await other.app.inject('/v1/status/peers'))).toEqual(['192.0.2.10:8300']);
    } finally {
      await other.close();
    }
  });

  it('?pretty indents', async () => {
    expect((await h.app.inject('/v1/status/peers?pretty')).body).toBe('[\n    "127.0.0.1:8300"\n]');
  });

  it.each([
    ['/v1/status/leader?dc=dc2', 500, 'BEACON_ERR_NO_PATH_TO_DC', undefined, /^No path to datacenter/],
    ['/v1/status/peers?index=-1', 400, 'BEACON_ERR_VALIDATION', 'index', /^Invalid index/],
  ] as const)('%s: refused', async (url, status, code, field, message) => {
    await expectRefused(h, { method: 'GET', url }, { status, code, message, ...(field ? { field } : {}) });
  });

  it.each(['/v1/status/leader', '/v1/status/peers'])('PUT %s: 405 with Allow: GET', async (url) => {
    const res = await h.app.inject({ method: 'PUT', url });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(res.headers['x-beacon-error']).toBe('BEACON_ERR_METHOD_NOT_ALLOWED');
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
    expect(res.body).toBe('method PUT not allowed');
  });

  it('an unknown route under /v1/status: 404 with an empty body', async () => {
    const res = await h.app.inject('/v1/status/nope');
    expect(res.statusCode).toBe(404);
    expect(res.body).toBe('');
    expect(res.headers['x-beacon-error']).toBe('BEACON_ERR_NOT_FOUND');
  });
});
