import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBeaconClientError } from '../client/index.js';
import { ApiClient, resolveHttpAddr } from './api-client.js';

describe('resolveHttpAddr', () => {
  it('takes the flag, else $BEACON_HTTP_ADDR, else 127.0.0.1:8500', () => {
    expect(resolveHttpAddr('10.0.0.1:8501', { BEACON_HTTP_ADDR: '10.0.0.2:8500' })).toBe('http://10.0.0.1:8501');
    expect(resolveHttpAddr(undefined, { BEACON_HTTP_ADDR: '10.0.0.2:8500' })).toBe('http://10.0.0.2:8500');
    expect(resolveHttpAddr(undefined, {})).toBe('http://127.0.0.1:8500');
    expect(resolveHttpAddr(undefined, { CONSUL_HTTP_ADDR: 'http://10.0.0.3:8500' })).toBe('http://10.0.0.3:8500');
    expect(resolveHttpAddr(undefined, { BEACON_HTTP_ADDR: '10.0.0.2:8500', CONSUL_HTTP_ADDR: '10.0.0.3:8500' })).toBe('http://10.0.0.2:8500');
    expect(() => resolveHttpAddr(undefined, { CONSUL_HTTP_ADDR: 'x' })).toThrow('invalid CONSUL_HTTP_ADDR "x"');
  });

  it('accepts [v6]:port and http(s):// URLs', () => {
    expect(resolveHttpAddr('[::1]:8500', {})).toBe('http://[::1]:8500');
    expect(resolveHttpAddr('https://beacon.internal:8501/', {})).toBe('https://beacon.internal:8501');
  });

  it('names where a bad address came from', () => {
    expect(() => resolveHttpAddr('nonsense', {})).toThrow('invalid --http-addr "nonsense": expected HOST:PORT');
    expect(() => resolveHttpAddr(undefined, { BEACON_HTTP_ADDR: 'host:99999' })).toThrow('invalid BEACON_HTTP_ADDR "host:99999"');
  });
});

describe('ApiClient', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/v1/echo')) {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        return req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, type: req.headers['content-type'] ?? null, body })));
      }
      if (req.url === '/v1/ok') return res.end('{"a":1}');
      if (req.url === '/v1/busy') {
        res.statusCode = 503;
        return res.end('Service Unavailable: no leader');
      }
      if (req.url === '/v1/shutting-down' || req.url === '/v1/beacon/shutting-down') {
        res.statusCode = 503;
        res.setHeader('x-beacon-error', 'BEACON_ERR_SHUTTING_DOWN');
        if (req.url.startsWith('/v1/beacon/')) {
          res.setHeader('content-type', 'application/json');
          return res.end('{"code":"BEACON_ERR_SHUTTING_DOWN","message":"Server is shutting down"}');
        }
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        return res.end('Server is shutting down');
      }
      if (req.url === '/v1/framework-503') {
        res.statusCode = 503;
        res.setHeader('content-type', 'application/json');
        return res.end('{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}');
      }
      if (req.url === '/v1/beacon/bad') {
        res.statusCode = 400;
        res.setHeader('x-beacon-error', 'BEACON_ERR_VALIDATION');
        res.setHeader('content-type', 'application/json');
        return res.end('{"code":"BEACON_ERR_VALIDATION","message":"Invalid passing: must be boolean","field":"passing"}');
      }
      if (req.url === '/v1/garbage') return res.end('not json');
      if (req.url === '/v1/empty404') {
        res.statusCode = 404;
        return res.end();
      }
      res.statusCode = 400;
      res.setHeader('content-type', 'text/plain');
      res.end('Invalid Port: must be <= 65535\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('parses JSON answers', async () => {
    const api = new ApiClient(base);
    await expect(api.json({ path: '/v1/ok', what: 'reading' })).resolves.toEqual({ a: 1 });
    await api.close();
  });

  it('encodes flags and repeated keys, skips undefined, and sends a body as JSON', async () => {
    const api = new ApiClient(base);
    await expect(
      api.json({ path: '/v1/echo', query: { passing: true, tag: ['a b', 'c'], dc: undefined, 'node-meta': 'k:v' }, what: 'reading' }),
    ).resolves.toEqual({ method: 'GET', url: '/v1/echo?passing&tag=a%20b&tag=c&node-meta=k%3Av', type: null, body: '' });
    await expect(api.json({ method: 'PUT', path: '/v1/echo', body: { Name: 'web' }, what: 'registering' })).resolves.toEqual({
      method: 'PUT',
      url: '/v1/echo',
      type: 'application/json',
      body: '{"Name":"web"}',
    });
    await api.close();
  });

  it('reports a 503 as the answer of its one server, not as a failover', async () => {
    const api = new ApiClient(base);
    const err = await api.send({ path: '/v1/busy', what: 'listing members' }).catch((e: unknown) => e);
    expect(isBeaconClientError(err, 'BEACON_ERR_REGISTRY_RESPONSE')).toBe(true);
    expect((err as { status?: number }).status).toBe(503);
    expect((err as Error).message).toBe('error listing members: Service Unavailable: no leader (HTTP 503)');
    await api.close();
  });

  it('reports a retryable 503 (the server is shutting down) as the server being unavailable, in one line', async () => {
    const api = new ApiClient(base);
    for (const path of ['/v1/shutting-down', '/v1/beacon/shutting-down']) {
      const err = await api.send({ path, what: 'watching services' }).catch((e: unknown) => e);
      expect(isBeaconClientError(err, 'BEACON_ERR_REGISTRY_UNREACHABLE')).toBe(true);
      expect((err as { status?: number }).status).toBe(503);
      expect((err as { retryable?: boolean }).retryable).toBe(true);
      expect((err as Error).message).toBe(`error watching services: ${base} is unavailable: Server is shutting down (HTTP 503)`);
    }
    await api.close();
  });

  it('shows the message of a JSON error body, never the raw JSON', async () => {
    const api = new ApiClient(base);
    await expect(api.send({ path: '/v1/beacon/bad', what: 'picking' })).rejects.toThrow(/^error picking: Invalid passing: must be boolean \(HTTP 400\)$/);
    // A 503 without Beacon's code (a proxy, an older server): reported as the answer it is.
    const err = await api.send({ path: '/v1/framework-503', what: 'watching services' }).catch((e: unknown) => e);
    expect(isBeaconClientError(err, 'BEACON_ERR_REGISTRY_RESPONSE')).toBe(true);
    expect((err as Error).message).toBe('error watching services: Service Unavailable (HTTP 503)');
    await api.close();
  });

  it("turns an error answer into one line with the server's message and the status", async () => {
    const api = new ApiClient(base);
    const err = await api.send({ method: 'PUT', path: '/v1/bad', what: 'registering service "web"' }).catch((e: unknown) => e);
    expect(isBeaconClientError(err, 'BEACON_ERR_REGISTRY_RESPONSE')).toBe(true);
    expect((err as Error).message).toBe('error registering service "web": Invalid Port: must be <= 65535 (HTTP 400)');
    await expect(api.send({ path: '/v1/empty404', what: 'reading' })).rejects.toThrow('error reading: no message (HTTP 404)');
    await expect(api.json({ path: '/v1/garbage', what: 'reading' })).rejects.toThrow('not JSON');
    await api.close();
  });

  it('says which address could not be reached', async () => {
    const api = new ApiClient('http://127.0.0.1:1');
    const err = await api.send({ path: '/v1/ok', what: 'listing members' }).catch((e: unknown) => e);
    expect(isBeaconClientError(err, 'BEACON_ERR_REGISTRY_UNREACHABLE')).toBe(true);
    expect((err as Error).message).toMatch(/^error listing members: cannot reach http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    await api.close();
  });
});
