/**
 * Bad input gets a 400 with a code and a message naming the field, and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
const put = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${server.httpUrl}${path}`, { method: 'PUT', body, headers });
const get = (path: string) => fetch(`${server.httpUrl}${path}`);

async function storeRevision(): Promise<number> {
  const text = await (await get('/metrics')).text();
  return Number(/^beacon_store_revision (\d+)/m.exec(text)![1]);
}

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  const r = await put('/v1/agent/service/register', JSON.stringify({ Name: 'web', ID: 'web-1', Port: 80 }));
  expect(r.status).toBe(200);
});
afterAll(async () => {
  await server?.stop();
});

describe('service registration input', () => {
  const cases: Array<[string, unknown, RegExp, string]> = [
    ['missing Name', { Port: 80 }, /^Missing service name/, 'Name'],
    ['port out of range', { Name: 'x', Port: 70000 }, /^Invalid Port: must be <= 65535/, 'Port'],
    ['negative port', { Name: 'x', Port: -1 }, /^Invalid Port: must be >= 0/, 'Port'],
    ['port as a string', { Name: 'x', Port: '80' }, /^Invalid Port: must be integer/, 'Port'],
    ['tags not a list', { Name: 'x', Tags: 'a,b' }, /^Invalid Tags: must be array/, 'Tags'],
    ['tag not a string', { Name: 'x', Tags: [1] }, /^Invalid Tags\[0\]: must be string/, 'Tags[0]'],
    ['meta value not a string', { Name: 'x', Meta: { a: 1 } }, /^Invalid Meta\.a: must be string/, 'Meta.a'],
    ['meta key reserved', { Name: 'x', Meta: { 'consul-x': '1' } }, /reserved prefix/, 'Meta.consul-x'],
    ['weights passing 0', { Name: 'x', Weights: { Passing: 0, Warning: 1 } }, /^Invalid Weights: Passing must be greater than 0/, 'Weights.Passing'],
    ['weights without Passing', { Name: 'x', Weights: { Warning: 2 } }, /^Invalid Weights: Passing must be greater than 0/, 'Weights.Passing'],
    ['address 0.0.0.0', { Name: 'x', Address: '0.0.0.0' }, /^Invalid service address/, 'Address'],
    ['bad check TTL', { Name: 'x', Check: { TTL: 'soon' } }, /^Invalid Check\.TTL: "soon" is not a duration/, 'Check.TTL'],
    [
      'check with TTL and Interval',
      { Name: 'x', Check: { TTL: '5s', Interval: '5s', HTTP: 'http://127.0.0.1/' } },
      /Interval and TTL cannot both be specified/,
      'Check',
    ],
    ['check without an interval', { Name: 'x', Check: { HTTP: 'http://127.0.0.1/' } }, /Interval must be > 0/, 'Check.Interval'],
    [
      'check with a bad HTTP method',
      { Name: 'x', Check: { HTTP: 'http://127.0.0.1/', Interval: '10s', Method: 'GE T' } },
      /Method must be an HTTP method/,
      'Check.Method',
    ],
    ['check bad status', { Name: 'x', Check: { TTL: '5s', Status: 'green' } }, /Status for checks must 'passing', 'warning', 'critical'/, 'Check.Status'],
    ['check HTTP not a URL', { Name: 'x', Check: { HTTP: 'not a url', Interval: '10s' } }, /HTTP must be an absolute/, 'Check.HTTP'],
    ['body not an object', [1, 2], /^Invalid body: must be object/, 'body'],
  ];
  it.each(cases)('%s -> 400 naming the field, nothing written', async (_label, body, message, field) => {
    const before = await storeRevision();
    const r = await put('/v1/agent/service/register', JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_VALIDATION');
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(message);
    expect(text).toContain(field.split('.')[0].replace(/\[\d+\]$/, ''));
    expect(await storeRevision()).toBe(before);
  });

  it('malformed JSON -> 400 BEACON_ERR_BAD_JSON', async () => {
    const r = await put('/v1/agent/service/register', '{"Name": "x",');
    expect(r.status).toBe(400);
    expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_BAD_JSON');
    expect(await r.text()).toMatch(/^Request decode failed/);
  });

  it('a body over the limit -> 413', async () => {
    const r = await put('/v1/agent/service/register', JSON.stringify({ Name: 'x', Meta: { a: 'x'.repeat(2 << 20) } }));
    expect(r.status).toBe(413);
    expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_BODY_TOO_LARGE');
  });

  it('prototype pollution keys are refused', async () => {
    const r = await put('/v1/agent/service/register', '{"Name":"x","__proto__":{"polluted":true}}');
    expect(r.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keys are case-insensitive and snake_case is accepted; lists and maps are never null', async () => {
    const r = await put(
      '/v1/agent/service/register',
      JSON.stringify({ name: 'Cased', id: 'cased-1', PORT: 81, enable_tag_override: true, tags: null, meta: null }),
    );
    expect(r.status).toBe(200);
    const svc = await (await get('/v1/agent/service/cased-1')).json();
    expect(svc).toMatchObject({ ID: 'cased-1', Service: 'Cased', Port: 81, EnableTagOverride: true, Tags: [], Meta: {}, Weights: { Passing: 1, Warning: 1 } });
  });

  it('Weights: absent is {1, 1}; a field left out of a given Weights is 0, as in Consul', async () => {
    expect((await put('/v1/agent/service/register', JSON.stringify({ Name: 'wp', Weights: { Passing: 3 } }))).status).toBe(200);
    expect(await (await get('/v1/agent/service/wp')).json()).toMatchObject({ Weights: { Passing: 3, Warning: 0 } });
    expect((await put('/v1/agent/service/register', JSON.stringify({ Name: 'wn', Weights: null }))).status).toBe(200);
    expect(await (await get('/v1/agent/service/wn')).json()).toMatchObject({ Weights: { Passing: 1, Warning: 1 } });
  });

  it('durations take Go syntax and integer nanoseconds', async () => {
    const r = await put('/v1/agent/service/register', JSON.stringify({ Name: 'dur', Checks: [{ TTL: '1m30s' }, { TTL: 120_000_000_000 }] }));
    expect(r.status).toBe(200);
    const checks = (await (await get('/v1/health/checks/dur')).json()) as Array<{ CheckID: string; Definition: { TTL: string } }>;
    expect(checks.map((c) => [c.CheckID, c.Definition.TTL]).sort()).toEqual([
      ['service:dur:1', '1m30s'],
      ['service:dur:2', '2m0s'],
    ]);
  });
});

describe('query parameters', () => {
  it.each([
    ['/v1/health/service/web?index=abc', /^Invalid index/],
    ['/v1/health/service/web?index=-1', /^Invalid index/],
    ['/v1/catalog/services?wait=forever', /^Invalid wait time/],
    ['/v1/health/service/web?passing=maybe', /^Invalid value for \?passing/],
    ['/v1/catalog/nodes?stale&consistent', /^Cannot specify \?stale with \?consistent/],
    ['/v1/catalog/nodes?node-meta=novalue', /^Invalid node-meta/],
    ['/v1/health/state/sick', /^Bad check state/],
    ['/v1/health/service/web?filter=Service.Port%20%3D%3D', /filter|boolean expression/i],
    ['/v1/catalog/service/', /^Missing service name/],
    ['/v1/health/service/', /^Missing service name/],
    ['/v1/health/checks/', /^Missing service name/],
    ['/v1/catalog/node/', /^Missing node name/],
    ['/v1/health/node/', /^Missing node name/],
    ['/v1/health/state/', /^Missing check state/],
    ['/v1/agent/service/', /^Missing service ID in the path/],
  ])('%s -> 400', async (path, message) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_VALIDATION');
    expect(await r.text()).toMatch(message);
  });

  it('a catalog check is named by the key it came in (Check or Checks[i])', async () => {
    const one = await put('/v1/catalog/register', JSON.stringify({ Node: 'ext', Address: '10.1.1.1', Check: { Name: 'c', Status: 'green' } }));
    expect(one.status).toBe(400);
    expect(await one.text()).toMatch(/field: Check\.Status/);
    const many = await put(
      '/v1/catalog/register',
      JSON.stringify({ Node: 'ext', Address: '10.1.1.1', Checks: [{ Name: 'a' }, { Name: 'b', Status: 'green' }] }),
    );
    expect(many.status).toBe(400);
    expect(await many.text()).toMatch(/field: Checks\[1\]\.Status/);
  });

  it('another datacenter -> 500 No path to datacenter', async () => {
    const r = await get('/v1/catalog/services?dc=mars');
    expect(r.status).toBe(500);
    expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_NO_PATH_TO_DC');
    expect(await r.text()).toMatch(/^No path to datacenter/);
  });

  it('the local datacenter by name is fine; X-Consul headers on every response', async () => {
    const r = await get('/v1/catalog/services?dc=dc1');
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('x-consul-index'))).toBeGreaterThan(0);
    expect(r.headers.get('x-consul-knownleader')).toBe('true');
    expect(r.headers.get('x-consul-lastcontact')).toBe('0');
  });

  it('filter, node-meta and tags select results', async () => {
    const r = await get(`/v1/catalog/service/web?filter=${encodeURIComponent('ServicePort == 80 and ServiceID == "web-1"')}`);
    expect(((await r.json()) as unknown[]).length).toBe(1);
    const none = await get(`/v1/catalog/service/web?filter=${encodeURIComponent('ServicePort != 80')}`);
    expect(await none.json()).toEqual([]);
  });

  it("filters know each route's fields: a selector that names none answers 400, as Consul does", async () => {
    const cases: Array<[string, string, number]> = [
      ['/v1/health/service/web', 'Service.Port == 80 and Checks.Status == passing', 1],
      ['/v1/health/service/web', 'Service.Tags is empty and Node.Meta["consul-network-segment"] == ""', 1],
      ['/v1/health/service/web', 'Checks.Status != passing', 0],
      ['/v1/catalog/service/web', 'ServicePort == 80 and NodeMeta is not empty', 1],
      ['/v1/catalog/nodes', 'Node == "test-node"', 1],
      ['/v1/health/node/test-node', 'CheckID == serfHealth', 1],
    ];
    for (const [path, filter, count] of cases) {
      const r = await get(`${path}?filter=${encodeURIComponent(filter)}`);
      expect(r.status, `${path} ${filter}`).toBe(200);
      expect(((await r.json()) as unknown[]).length, `${path} ${filter}`).toBe(count);
    }
    const agent = (await (await get(`/v1/agent/services?filter=${encodeURIComponent('Port == 80')}`)).json()) as Record<string, unknown>;
    expect(Object.keys(agent)).toEqual(['web-1']);
    for (const [path, filter, message] of [
      ['/v1/health/service/web', 'Service.Foo == 1', /Selector "Service\.Foo" is not valid/],
      ['/v1/catalog/service/web', 'Port == 80', /Selector "Port" is not valid/],
      ['/v1/health/service/web', 'Service.Port == "eighty"', /Failed to coerce value "eighty"/],
    ] as const) {
      const r = await get(`${path}?filter=${encodeURIComponent(filter)}`);
      expect(r.status).toBe(400);
      expect(await r.text()).toMatch(message);
    }
  });

  it('unknown paths -> 404 empty; wrong method -> 405 with Allow', async () => {
    const r = await get('/v1/nothing/here');
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('');
    const m = await fetch(`${server.httpUrl}/v1/catalog/services`, { method: 'DELETE' });
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET');
  });

  it("unknown service ID on agent read -> 404 with Consul's text", async () => {
    const r = await get('/v1/agent/service/nope');
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('unknown service ID: nope');
  });
});

describe('catalog register input', () => {
  it.each([
    [{ Address: '10.0.0.1' }, /^Missing node name/],
    [{ Node: 'n' }, /^Missing node address/],
    [{ Node: 'n', Address: '10.0.0.1', ID: 'not-a-uuid' }, /^Invalid ID/],
    [{ Node: 'n', Address: '10.0.0.1', Service: { Port: 1 } }, /^Missing service name/],
    [{ Node: 'n', Address: '10.0.0.1', Check: { Name: 'c', Status: 'bad' } }, /^Invalid check status/],
    [{ Node: 'n', Address: '10.0.0.1', Check: { Name: 'c', ServiceID: 'ghost' } }, /ServiceID "ghost" does not exist/],
  ])('%j -> 400, nothing written', async (body, message) => {
    const before = await storeRevision();
    const r = await put('/v1/catalog/register', JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(message);
    expect(await storeRevision()).toBe(before);
  });
});
