/**
 * Answers to what Node's HTTP parser refuses, on a bare node:http server in process: each one
 * in Beacon's form (X-Beacon-Error, Consul's headers, text or JSON by path), then the
 * connection closed.
 */
import { createServer, maxHeaderSize, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientErrorHandler, clientErrorToBeacon, connectRefused, expectationFailed, rawErrorResponse, refuseWithoutHost } from './protocol-errors.js';
import { BeaconError } from '../../errors/index.js';

let server: Server;
let port: number;
beforeAll(async () => {
  // A handler that never answers a body request (as a route still reading it): the parser's
  // error must be answered by the clientError handler.
  const noHost = refuseWithoutHost(() => 42);
  server = createServer({ requireHostHeader: false }, (req, res) => {
    if (noHost(req, res)) return;
    if (req.method === 'GET') res.writeHead(200, { 'content-length': 2 }).end('ok');
    else req.resume();
  });
  server.on(
    'clientError',
    clientErrorHandler(() => 42),
  );
  server.on(
    'checkExpectation',
    expectationFailed(() => 42),
  );
  server.on(
    'connect',
    connectRefused(() => 42),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Sends raw bytes; resolves with everything received once the server closes the connection. */
function raw(payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', reject);
    s.on('end', () => {
      s.end();
      resolve(out);
    });
    s.write(payload);
  });
}

function parse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const [head, ...rest] = text.split('\r\n\r\n');
  const [line, ...fields] = head.split('\r\n');
  const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
  return { status: Number(line.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

describe('clientErrorToBeacon', () => {
  it.each([
    [
      { code: 'HPE_HEADER_OVERFLOW' },
      'BEACON_ERR_HEADERS_TOO_LARGE',
      431,
      `Request header fields too large: the request line and headers must fit in ${maxHeaderSize} bytes`,
    ],
    [{ code: 'ERR_HTTP_REQUEST_TIMEOUT' }, 'BEACON_ERR_REQUEST_TIMEOUT', 408, 'Request timeout: the request did not arrive in full in time'],
    [
      { code: 'HPE_INVALID_CHUNK_SIZE', reason: 'Invalid character in chunk size' },
      'BEACON_ERR_BAD_REQUEST',
      400,
      'Bad request: Invalid character in chunk size',
    ],
    [{ code: 'HPE_WHATEVER' }, 'BEACON_ERR_BAD_REQUEST', 400, 'Bad request: malformed HTTP request'],
  ])('%o is %s', (fields, code, status, message) => {
    const be = clientErrorToBeacon(Object.assign(new Error('x'), fields));
    expect(be).toMatchObject({ code, message });
    expect(be.status).toBe(status);
  });
});

describe('rawErrorResponse', () => {
  it('is a whole HTTP/1.1 response with the code, the index and Connection: close', () => {
    const r = parse(rawErrorResponse(new BeaconError('BEACON_ERR_BAD_REQUEST', 'Bad request: é'), '/v1/catalog/services', 7));
    expect(r.status).toBe(400);
    expect(r.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength('Bad request: é')),
      'x-beacon-error': 'BEACON_ERR_BAD_REQUEST',
      'x-consul-index': '7',
      'x-consul-knownleader': 'true',
      connection: 'close',
    });
  });
});

describe('the clientError handler on a real connection', () => {
  it('a malformed chunked body while the route reads it: 400 in Consul form, connection closed', async () => {
    const r = parse(await raw('PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n'));
    expect(r).toMatchObject({ status: 400, body: 'Bad request: Invalid character in chunk size' });
    expect(r.headers).toMatchObject({ 'x-beacon-error': 'BEACON_ERR_BAD_REQUEST', 'x-consul-index': '42', connection: 'close' });
  });

  it('the same under /v1/beacon/ answers JSON', async () => {
    const r = parse(await raw('PUT /v1/beacon/pick/web HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"Nam\r\nXX\r\n'));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ code: 'BEACON_ERR_BAD_REQUEST', message: 'Bad request: Invalid character in chunk size' });
  });

  it.each([
    ['a bad request line', 'GARBAGE\r\n\r\n\u0000\u0001', 400, 'BEACON_ERR_BAD_REQUEST'],
    ['a bad header name', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400, 'BEACON_ERR_BAD_REQUEST'],
    [
      'Content-Length with Transfer-Encoding',
      'PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
      'BEACON_ERR_BAD_REQUEST',
    ],
    ['headers too large', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(maxHeaderSize)}\r\n\r\n`, 431, 'BEACON_ERR_HEADERS_TOO_LARGE'],
    ['a URL too large', `GET /v1/catalog/service/${'a'.repeat(maxHeaderSize)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'BEACON_ERR_HEADERS_TOO_LARGE'],
    ['an unmet Expect', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n', 417, 'BEACON_ERR_EXPECTATION_FAILED'],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 400, 'BEACON_ERR_BAD_REQUEST'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, 'BEACON_ERR_METHOD_NOT_ALLOWED'],
  ])('%s: %i %s', async (_what, payload, status, code) => {
    const r = parse(await raw(payload));
    expect(r.status).toBe(status);
    expect(r.headers['x-beacon-error']).toBe(code);
    expect(r.headers['x-consul-index']).toBe('42');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.body.length).toBeGreaterThan(0);
  });

  it('HTTP/1.0 needs no Host', async () => {
    expect(parse(await raw('GET / HTTP/1.0\r\n\r\n')).body).toBe('ok');
  });

  it('answers only once per connection, and the server keeps serving', async () => {
    const r = await raw('GARBAGE\r\n\r\nMORE GARBAGE\r\n\r\nAND MORE\r\n\r\n');
    expect(r.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(parse(await raw('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).body).toBe('ok');
  });
});
