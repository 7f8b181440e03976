/**
 * Throws garbage at every route of a real server: random bodies, wrong types, huge and odd
 * values (unpaired surrogates and deep nesting included), odd paths and query strings. No
 * request may crash the server or end in an internal error, every error answer carries
 * X-Beacon-Error, and the catalog must be what it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../helpers/prng.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;

const ROUTES: Array<[string, string]> = [
  ['PUT', '/v1/agent/service/register'],
  ['PUT', '/v1/agent/service/deregister/{x}'],
  ['GET', '/v1/agent/services'],
  ['GET', '/v1/agent/service/{x}'],
  ['GET', '/v1/agent/self'],
  ['GET', '/v1/agent/members'],
  ['GET', '/v1/agent/checks'],
  ['PUT', '/v1/agent/check/register'],
  ['PUT', '/v1/agent/check/deregister/{x}'],
  ['PUT', '/v1/agent/check/pass/{x}'],
  ['PUT', '/v1/agent/check/update/{x}'],
  ['PUT', '/v1/agent/service/maintenance/{x}'],
  ['PUT', '/v1/agent/maintenance'],
  ['GET', '/v1/catalog/services'],
  ['GET', '/v1/catalog/service/{x}'],
  ['GET', '/v1/catalog/nodes'],
  ['GET', '/v1/catalog/node/{x}'],
  ['GET', '/v1/catalog/datacenters'],
  ['PUT', '/v1/catalog/register'],
  ['PUT', '/v1/catalog/deregister'],
  ['GET', '/v1/health/service/{x}'],
  ['GET', '/v1/health/checks/{x}'],
  ['GET', '/v1/health/node/{x}'],
  ['GET', '/v1/health/state/{x}'],
  ['GET', '/v1/status/leader'],
  ['GET', '/v1/status/peers'],
  ['GET', '/metrics'],
];

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  -1e308,
  3.5,
  2 ** 53 + 1,
  '',
  ' ',
  'x'.repeat(5000),
  '\u0000',
  '💥',
  '../../etc',
  [],
  [null],
  [[[]]],
  {},
  { a: { b: { c: {} } } },
  '10s',
  '-5s',
  '1h1h1h1h',
  'NaN',
  Number.MAX_SAFE_INTEGER,
  'a\ud800',
  ['ok', '\udc00'],
  { k: '\ud800' },
  JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown,
];
const FIELDS = [
  'Name',
  'ID',
  'Port',
  'Tags',
  'Meta',
  'Address',
  'Weights',
  'Check',
  'Checks',
  'TTL',
  'HTTP',
  'Interval',
  'Node',
  'Service',
  'NodeMeta',
  'TaggedAddresses',
  'Status',
  'Output',
  'CheckID',
  'ServiceID',
  'Definition',
  'Args',
  'name',
  'port',
];

function randomBody(r: () => number): string {
  const kind = Math.floor(r() * 6);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  if (kind === 0) return Array.from({ length: Math.floor(r() * 64) }, () => String.fromCharCode(Math.floor(r() * 256))).join('');
  if (kind === 1) return '{"Name":'.repeat(Math.floor(r() * 50));
  if (kind === 2) return JSON.stringify(pick(WEIRD_VALUES));
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < 1 + r() * 6; i++) {
    const v = pick(WEIRD_VALUES);
    obj[pick(FIELDS)] = r() < 0.3 ? { [pick(FIELDS)]: v, TTL: pick(WEIRD_VALUES) } : v;
  }
  if (kind === 5) obj.Name = 'fuzz';
  return JSON.stringify(obj);
}

const QUERIES = [
  '',
  '?index=',
  '?index=99999999999999999999999',
  '?wait=%ff',
  '?wait=1ms&index=1',
  '?passing=2',
  '?tag=&tag=%00',
  '?filter=(((((',
  '?filter=Service.Meta[%22a%22]%20matches%20%22(a%2B)%2B%24%22',
  '?node-meta=:',
  '?dc=',
  '?stale&stale',
  '?enable=maybe',
  '?enable=true&reason=' + 'r'.repeat(3000),
  '?note=' + '%E2%82'.repeat(10),
  '?format=text',
  '?pretty',
];
const SEGMENTS = ['', 'x', '%00', '..', '%2F%2F', 'a'.repeat(600), '💥', '%', 'web', '%ED%A0%80', '%E0%A4%A'];

async function catalogSnapshot(): Promise<string> {
  const [services, nodes] = await Promise.all([
    fetch(`${server.httpUrl}/v1/catalog/services`).then((r) => r.text()),
    fetch(`${server.httpUrl}/v1/catalog/nodes`).then((r) => r.json() as Promise<Array<{ Node: string }>>),
  ]);
  return services + nodes.map((n) => n.Node).join(',');
}

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  await fetch(`${server.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'web', Port: 80 }) });
});
afterAll(async () => {
  await server?.stop();
});

describe('garbage at every route', () => {
  it('never crashes, never answers an internal error, and only valid writes change the catalog', async () => {
    const r = seededRandom(20261123);
    const statuses = new Map<number, number>();
    let sent = 0;
    for (const [method, pattern] of ROUTES) {
      for (let i = 0; i < 25; i++) {
        const path = pattern.replace('{x}', SEGMENTS[Math.floor(r() * SEGMENTS.length)]) + QUERIES[Math.floor(r() * QUERIES.length)];
        const body = method === 'PUT' ? randomBody(r) : undefined;
        const res = await fetch(`${server.httpUrl}${path}`, {
          method,
          body,
          headers: { 'content-type': r() < 0.5 ? 'application/json' : 'text/plain' },
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        sent++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.headers.get('x-beacon-error'), `${method} ${path} ${body?.slice(0, 200)}`).not.toBe('BEACON_ERR_INTERNAL');
        // Every error answer carries its code, those of the router and Node's parser included.
        if (res.status >= 400) expect(res.headers.get('x-beacon-error'), `${method} ${path} ${res.status}`).toMatch(/^BEACON_ERR_[A-Z_]+$/);
        if (res.status >= 500) {
          expect(['BEACON_ERR_CHECK_NOT_TTL', 'BEACON_ERR_NO_PATH_TO_DC'], `${method} ${path}`).toContain(res.headers.get('x-beacon-error'));
        }
      }
    }
    expect(sent).toBe(ROUTES.length * 25);
    // Many requests must have been refused as bad input, so the fuzzing reached validation.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    const alive = await fetch(`${server.httpUrl}/v1/status/leader`);
    expect(alive.status).toBe(200);
    expect(server.proc.exitCode).toBeNull();
  });

  it('garbage that cannot be a valid registration leaves the catalog unchanged', async () => {
    const before = await catalogSnapshot();
    const r = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const body = randomBody(r);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        /* not JSON */
      }
      // `Service` names a service too (Beacon reads it when Name is absent).
      const named = parsed && typeof parsed === 'object' && ('Name' in parsed || 'name' in parsed || 'Service' in parsed);
      if (named) continue; // may legitimately register something
      const res = await fetch(`${server.httpUrl}/v1/agent/service/register`, { method: 'PUT', body });
      expect(res.status, body.slice(0, 200)).toBeGreaterThanOrEqual(400);
    }
    expect(await catalogSnapshot()).toBe(before);
  });

  it('slow and half-sent requests do not take the server down', async () => {
    const net = await import('node:net');
    const sockets = Array.from({ length: 20 }, () => {
      const s = net.connect(server.httpPort, server.httpHost);
      s.on('error', () => {});
      s.write('PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"Name":');
      return s;
    });
    const res = await fetch(`${server.httpUrl}/v1/catalog/services`);
    expect(res.status).toBe(200);
    for (const s of sockets) s.destroy();
    const raw = net.connect(server.httpPort, server.httpHost);
    raw.on('error', () => {});
    raw.write('GARBAGE\r\n\r\n\u0000\u0001');
    await new Promise((r) => setTimeout(r, 100));
    raw.destroy();
    expect((await fetch(`${server.httpUrl}/v1/status/peers`)).status).toBe(200);
  });
});
