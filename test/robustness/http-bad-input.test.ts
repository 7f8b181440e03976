/**
 * Bad input an operator found answering 500 or the framework's own JSON, against a real
 * server: strings with an unpaired UTF-16 surrogate, bodies nested 10,000 deep, paths that are
 * not valid percent-encoded UTF-8, URLs and headers over Node's limit, malformed chunked bodies,
 * an unmet Expect, CONNECT, unknown paths and wrong methods. Each answers 4xx in Beacon's form
 * (X-Beacon-Error; text/plain on Consul routes, JSON under /v1/beacon/), names the field where
 * there is one, never 500; the server keeps serving and the catalog is what it was.
 */
import { maxHeaderSize } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes on a new connection; the answer, once the server closes it. */
function raw(payload: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = connect(server.httpPort, server.httpHost);
    let out = '';
    s.setTimeout(10_000, () => s.destroy(new Error(`no answer to ${payload.slice(0, 80)}`)));
    s.on('data', (d: Buffer) => (out += d.toString('utf8')));
    s.on('error', reject);
    s.on('end', () => {
      s.end();
      const [head, ...rest] = out.split('\r\n\r\n');
      const [line, ...fields] = head.split('\r\n');
      const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
      resolve({ status: Number(line.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    s.write(payload);
  });
}

/** One request on its own connection (`Connection: close`), the body sent as given. */
function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const len = body === undefined ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return raw(`${method} ${path} HTTP/1.1\r\nHost: beacon\r\nConnection: close\r\n${extra}${len}\r\n${body ?? ''}`);
}

/** What every refusal must look like; returns the answer for more checks. */
function refused(a: Answer, status: number, code: string, what: string): Answer {
  expect(a.status, `${what}: ${a.body.slice(0, 200)}`).toBe(status);
  expect(a.headers['x-beacon-error'], what).toBe(code);
  expect(a.headers['x-consul-index'], what).toMatch(/^[1-9]\d*$/);
  return a;
}

async function catalogSnapshot(): Promise<string> {
  const paths = ['/v1/catalog/services', '/v1/catalog/nodes', '/v1/agent/services', '/v1/catalog/service/web'];
  return (await Promise.all(paths.map((p) => fetch(`${server.httpUrl}${p}`).then((r) => r.text())))).join('\n');
}

let before: string;
beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  const reg = await fetch(`${server.httpUrl}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ Name: 'web', Port: 80, Tags: ['a'], Meta: { k: 'v' } }),
  });
  expect(reg.status).toBe(200);
  before = await catalogSnapshot();
});
afterAll(async () => {
  await server?.stop();
});

const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);
const WRITE_ROUTES = [
  '/v1/agent/service/register',
  '/v1/agent/check/register',
  '/v1/agent/check/update/web',
  '/v1/catalog/register',
  '/v1/catalog/deregister',
  '/v1/agent/service/deregister/web',
  '/v1/agent/check/deregister/web',
  '/v1/agent/maintenance?enable=true',
];

describe('bad input against a real server', () => {
  it('unpaired surrogates in every string that is stored or becomes a key: 400 naming the field', async () => {
    const cases: Array<[string, string, string]> = [
      ['/v1/agent/service/register', '{"Name":"a\\ud800"}', 'Name'],
      ['/v1/agent/service/register', '{"Name":"web","ID":"web\\udc00"}', 'ID'],
      ['/v1/agent/service/register', '{"Name":"web","Tags":["a","\\ud800"]}', 'Tags[1]'],
      ['/v1/agent/service/register', '{"Name":"web","Meta":{"k":"\\ud800"}}', 'Meta.k'],
      ['/v1/agent/service/register', '{"Name":"web","Meta":{"\\ud800":"v"}}', 'Meta'],
      ['/v1/agent/service/register', '{"Name":"web","Check":{"CheckID":"\\ud800","TTL":"5s"}}', 'Check.CheckID'],
      ['/v1/agent/check/register', '{"Name":"c","ID":"\\ud800","TTL":"5s"}', 'ID'],
      ['/v1/agent/check/update/web', '{"Status":"passing","Output":"\\ud800"}', 'Output'],
      ['/v1/catalog/register', '{"Node":"\\ud800","Address":"10.0.0.9"}', 'Node'],
      ['/v1/catalog/register', '{"Node":"n9","Address":"10.0.0.9","Service":{"Service":"web","Tags":["\\ud800"]}}', 'Service.Tags[0]'],
      ['/v1/catalog/deregister', '{"Node":"test-node","ServiceID":"web\\ud800"}', 'ServiceID'],
    ];
    for (const [path, body, field] of cases) {
      const a = refused(await send('PUT', path, body), 400, 'BEACON_ERR_VALIDATION', `${path} ${body}`);
      expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(a.body).toMatch(new RegExp(`^Invalid ${field.replace(/[[\]]/g, '\\$&')}: (a key )?contains an unpaired UTF-16 surrogate$`));
    }
  });

  it('path parameters that are not percent-encoded UTF-8 (an encoded surrogate included): 400 naming the path', async () => {
    const cases: Array<[string, string, string]> = [
      ['PUT', '/v1/agent/service/deregister/%ED%A0%80', '%ED%A0%80'],
      ['PUT', '/v1/agent/check/pass/%ED%A0%80', '%ED%A0%80'],
      ['PUT', '/v1/agent/check/deregister/%E0%A4%A', '%E0%A4%A'],
      ['GET', '/v1/catalog/service/%ED%A0%80?passing', '%ED%A0%80'],
      ['GET', '/v1/health/node/%ZZ', '%ZZ'],
      ['GET', '/v1/agent/service/%', '%'],
    ];
    for (const [method, path, seg] of cases) {
      const a = refused(await send(method, path), 400, 'BEACON_ERR_VALIDATION', `${method} ${path}`);
      expect(a.body).toBe(`Invalid path: "${seg}" is not valid percent-encoded UTF-8`);
    }
    const pick = refused(await send('GET', '/v1/beacon/pick/%ED%A0%80'), 400, 'BEACON_ERR_VALIDATION', 'pick');
    expect(JSON.parse(pick.body)).toEqual({
      code: 'BEACON_ERR_VALIDATION',
      message: 'Invalid path: "%ED%A0%80" is not valid percent-encoded UTF-8',
      field: 'path',
    });
  });

  it('bodies nested 10,000 deep on every write route, a deep Meta value and a deep check Definition: 400 naming the body', async () => {
    const bodies = [
      deep(10_000, '[', ']'),
      deep(10_000, '{"a":', '}'),
      `{"Name":"web","Meta":{"k":${deep(10_000, '[', ']', '"v"')}}}`,
      `{"Node":"n9","Address":"10.0.0.9","Check":{"Name":"c","Definition":${deep(10_000, '{"TTL":', '}', '"5s"')}}}`,
    ];
    for (const path of WRITE_ROUTES) {
      for (const body of bodies) {
        const a = refused(await send('PUT', path, body, { 'Content-Type': 'application/json' }), 400, 'BEACON_ERR_VALIDATION', `${path} ${body.slice(0, 40)}`);
        expect(a.body).toBe('Request body nested too deeply: at most 32 levels of objects and arrays');
      }
    }
  });

  it("a URL or headers over Node's limit: 431; a path parameter over 512 characters: 414", async () => {
    const url = refused(await send('GET', `/v1/catalog/service/${'a'.repeat(maxHeaderSize)}`), 431, 'BEACON_ERR_HEADERS_TOO_LARGE', 'long URL');
    expect(url.body).toMatch(/^Request header fields too large/);
    refused(await send('GET', '/v1/catalog/services', undefined, { 'X-Big': 'a'.repeat(maxHeaderSize) }), 431, 'BEACON_ERR_HEADERS_TOO_LARGE', 'big header');
    const beacon = refused(await send('GET', `/v1/beacon/pick/${'a'.repeat(maxHeaderSize)}`), 431, 'BEACON_ERR_HEADERS_TOO_LARGE', 'long beacon URL');
    expect(JSON.parse(beacon.body)).toMatchObject({ code: 'BEACON_ERR_HEADERS_TOO_LARGE' });
    const param = refused(await send('GET', `/v1/catalog/service/${'a'.repeat(600)}`), 414, 'BEACON_ERR_URI_TOO_LONG', 'long param');
    expect(param.body).toBe('URI too long: a path parameter is longer than 512 characters');
  });

  it('malformed HTTP: a bad chunked body, a bad request line or header, no Host: 400 BEACON_ERR_BAD_REQUEST', async () => {
    const chunked = refused(
      await raw('PUT /v1/agent/service/register HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"Nam\r\nZZ\r\n'),
      400,
      'BEACON_ERR_BAD_REQUEST',
      'chunked',
    );
    expect(chunked.body).toBe('Bad request: Invalid character in chunk size');
    expect(chunked.headers.connection).toBe('close');
    refused(
      await raw('PUT /v1/catalog/register HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n'),
      400,
      'BEACON_ERR_BAD_REQUEST',
      'chunk size overflow',
    );
    refused(await raw('GARBAGE\r\n\r\n\u0000\u0001'), 400, 'BEACON_ERR_BAD_REQUEST', 'request line');
    refused(await raw('GET /v1/catalog/services HTTP/1.1\r\nHost: b\r\nBad Header: y\r\n\r\n'), 400, 'BEACON_ERR_BAD_REQUEST', 'header');
    refused(
      await raw('PUT /v1/catalog/register HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}'),
      400,
      'BEACON_ERR_BAD_REQUEST',
      'CL and TE',
    );
    const host = refused(await raw('GET /v1/catalog/services HTTP/1.1\r\n\r\n'), 400, 'BEACON_ERR_BAD_REQUEST', 'no Host');
    expect(host.body).toBe('Bad request: missing required Host header');
  });

  it('an unmet Expect: 417; CONNECT: 405', async () => {
    refused(await send('PUT', '/v1/agent/service/register', '{"Name":"x"}', { Expect: 'something' }), 417, 'BEACON_ERR_EXPECTATION_FAILED', 'expect');
    refused(await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 405, 'BEACON_ERR_METHOD_NOT_ALLOWED', 'connect');
  });

  it('unknown paths: an empty 404 with the code (JSON under /v1/beacon/); wrong methods: 405 with Allow', async () => {
    const consul = refused(await send('GET', '/v1/nope'), 404, 'BEACON_ERR_NOT_FOUND', '404');
    expect(consul.body).toBe('');
    const beacon = refused(await send('GET', '/v1/beacon/nope'), 404, 'BEACON_ERR_NOT_FOUND', 'beacon 404');
    expect(JSON.parse(beacon.body)).toEqual({ code: 'BEACON_ERR_NOT_FOUND', message: 'No route for GET /v1/beacon/nope' });
    const m = refused(await send('DELETE', '/v1/catalog/services'), 405, 'BEACON_ERR_METHOD_NOT_ALLOWED', '405');
    expect(m.headers.allow).toBe('GET');
    expect(m.body).toBe('method DELETE not allowed');
    const bm = refused(await send('PATCH', '/v1/beacon/pick/web'), 405, 'BEACON_ERR_METHOD_NOT_ALLOWED', 'beacon 405');
    expect(JSON.parse(bm.body)).toEqual({ code: 'BEACON_ERR_METHOD_NOT_ALLOWED', message: 'method PATCH not allowed' });
  });

  it('afterwards the server serves, logged no internal error, and the catalog is unchanged', async () => {
    expect((await fetch(`${server.httpUrl}/v1/status/leader`)).status).toBe(200);
    expect(server.proc.exitCode).toBeNull();
    expect(server.output()).not.toMatch(/request failed|BEACON_ERR_INTERNAL|RangeError|URIError/);
    expect(await catalogSnapshot()).toBe(before);
  });
});
