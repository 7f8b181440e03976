/**
 * /v1/health/*, in process: entries with their node and checks, ?passing (Consul's boolean
 * parse), ?tag, ?filter and ?node-meta, and the index each answer carries.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consulIndex, expectRefused, okJson, openHttpApp, type TestHttpApp } from '../../../../test/helpers/http-app.js';

let h: TestHttpApp;
beforeAll(async () => {
  h = await openHttpApp();
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  expect(h.logger.errors, 'internal errors logged').toEqual([]);
});

interface Entry {
  Node: { Node: string };
  Service: { ID: string; Service: string; Tags: string[] };
  Checks: { CheckID: string; Status: string; ServiceID: string }[];
}
interface Check {
  CheckID: string;
  Node: string;
  Status: string;
  ServiceID: string;
}

async function register(payload: unknown): Promise<void> {
  const res = await h.app.inject({ method: 'PUT', url: '/v1/catalog/register', payload: payload as object });
  expect(res.statusCode, res.body).toBe(200);
}
const ids = (entries: Entry[]) => entries.map((e) => e.Service.ID).sort();

beforeEach(async () => {
  await h.reset();
  // n1: web-1 passing. n2: web-2 warning, db-1 passing, and a critical node check on n2 for everything there.
  await register({
    Node: 'n1',
    Address: '10.0.0.1',
    NodeMeta: { rack: 'r1' },
    Service: { Service: 'web', ID: 'web-1', Tags: ['blue'] },
    Checks: [
      { CheckID: 'web-1-up', ServiceID: 'web-1', Status: 'passing' },
      { CheckID: 'n1-alive', Status: 'passing' },
    ],
  });
  await register({
    Node: 'n2',
    Address: '10.0.0.2',
    NodeMeta: { rack: 'r2' },
    Service: { Service: 'web', ID: 'web-2', Tags: ['green'] },
    Checks: [{ CheckID: 'web-2-up', ServiceID: 'web-2', Status: 'warning' }],
  });
  await register({
    Node: 'n3',
    Address: '10.0.0.3',
    Service: { Service: 'db', ID: 'db-1' },
    Checks: [
      { CheckID: 'db-up', ServiceID: 'db-1', Status: 'passing' },
      { CheckID: 'n3-disk', Status: 'critical' },
    ],
  });
});

describe('GET /v1/health/service/:name', () => {
  it("every instance with its node and checks (node checks too), at the service's index", async () => {
    const res = await h.app.inject('/v1/health/service/web');
    const body = okJson<Entry[]>(res);
    expect(ids(body)).toEqual(['web-1', 'web-2']);
    const web1 = body.find((e) => e.Service.ID === 'web-1')!;
    expect(web1.Node.Node).toBe('n1');
    expect(web1.Checks.map((c) => c.CheckID).sort()).toEqual(['n1-alive', 'web-1-up']);
    expect(consulIndex(res)).toBe(h.catalog.serviceIndex('web'));
  });

  it('?passing keeps only instances whose every check passes; a node check counts', async () => {
    expect(ids(okJson<Entry[]>(await h.app.inject('/v1/health/service/web?passing')))).toEqual(['web-1']);
    expect(ids(okJson<Entry[]>(await h.app.inject('/v1/health/service/web?passing=true')))).toEqual(['web-1']);
    expect(ids(okJson<Entry[]>(await h.app.inject('/v1/health/service/web?passing=1')))).toEqual(['web-1']);
    expect(ids(okJson<Entry[]>(await h.app.inject('/v1/health/service/web?passing=false')))).toEqual(['web-1', 'web-2']);
    expect(okJson<Entry[]>(await h.app.inject('/v1/health/service/db'))).toHaveLength(1);
    expect(okJson<Entry[]>(await h.app.inject('/v1/health/service/db?passing'))).toEqual([]);
  });

  it('?tag, ?node-meta and ?filter select', async () => {
    expect(ids(okJson<Entry[]>(await h.app.inject('/v1/health/service/web?tag=green')))).toEqual(['web-2']);
    expect(ids(okJson<Entry[]>(await h.app.inject('/v1/health/service/web?node-meta=rack:r1')))).toEqual(['web-1']);
    const q = encodeURIComponent('Checks.Status contains "warning"');
    expect(ids(okJson<Entry[]>(await h.app.inject(`/v1/health/service/web?filter=${q}`)))).toEqual(['web-2']);
  });

  it('an unknown service: an empty list', async () => {
    const res = await h.app.inject('/v1/health/service/nope');
    expect(okJson(res)).toEqual([]);
  });

  it.each([
    [
      '?passing=maybe',
      '/v1/health/service/web?passing=maybe',
      400,
      'BEACON_ERR_VALIDATION',
      'passing',
      /^Invalid value for \?passing: "maybe" is not a boolean/,
    ],
    [
      'a bad ?filter',
      `/v1/health/service/web?filter=${encodeURIComponent('Service.Service = "web"')}`,
      400,
      'BEACON_ERR_VALIDATION',
      'filter',
      /^Failed to create boolean expression evaluator/,
    ],
    [
      '?filter on an unknown field',
      `/v1/health/service/web?filter=${encodeURIComponent('Nope == "x"')}`,
      400,
      'BEACON_ERR_VALIDATION',
      'filter',
      /^Failed to create boolean expression evaluator/,
    ],
    ['a bad ?wait', '/v1/health/service/web?index=1&wait=forever', 400, 'BEACON_ERR_VALIDATION', 'wait', /^Invalid wait time/],
    ['another datacenter', '/v1/health/service/web?dc=dc2', 500, 'BEACON_ERR_NO_PATH_TO_DC', undefined, /^No path to datacenter/],
    ['no name', '/v1/health/service/', 400, 'BEACON_ERR_VALIDATION', 'name', /^Missing service name/],
  ] as const)('%s: refused', async (_label, url, status, code, field, message) => {
    await expectRefused(h, { method: 'GET', url }, { status, code, message, ...(field ? { field } : {}) });
  });

  it('a blocking read returns when a check of the service changes', async () => {
    const idx = h.catalog.serviceIndex('web');
    const pending = h.app.inject(`/v1/health/service/web?passing&index=${idx}&wait=5m`);
    await h.catalog.commands.setCheckStatus('n2', 'web-2-up', { status: 'passing', output: '' });
    const res = await pending;
    expect(consulIndex(res)).toBeGreaterThan(idx);
    expect(ids(okJson<Entry[]>(res))).toEqual(['web-1', 'web-2']);
  });
});

describe('GET /v1/health/checks/:name and /v1/health/node/:node', () => {
  it("a service's checks (not node checks), at the service's index", async () => {
    const res = await h.app.inject('/v1/health/checks/web');
    expect(
      okJson<Check[]>(res)
        .map((c) => c.CheckID)
        .sort(),
    ).toEqual(['web-1-up', 'web-2-up']);
    expect(consulIndex(res)).toBe(h.catalog.serviceIndex('web'));
    const q = encodeURIComponent('Status == "warning"');
    expect(okJson<Check[]>(await h.app.inject(`/v1/health/checks/web?filter=${q}`)).map((c) => c.CheckID)).toEqual(['web-2-up']);
    expect(okJson(await h.app.inject('/v1/health/checks/nope'))).toEqual([]);
  });

  it("a node's checks, node and service checks alike, at the node's index", async () => {
    const res = await h.app.inject('/v1/health/node/n3');
    expect(
      okJson<Check[]>(res)
        .map((c) => [c.CheckID, c.Status])
        .sort(),
    ).toEqual([
      ['db-up', 'passing'],
      ['n3-disk', 'critical'],
    ]);
    expect(consulIndex(res)).toBe(h.catalog.nodeIndex('n3'));
    expect(okJson(await h.app.inject('/v1/health/node/nope'))).toEqual([]);
  });

  it.each([
    ['/v1/health/checks/', 'name', /^Missing service name/],
    ['/v1/health/node/', 'node', /^Missing node name/],
    [`/v1/health/checks/web?filter=${encodeURIComponent('Status ==')}`, 'filter', /^Failed to create boolean expression evaluator/],
    [`/v1/health/node/n3?filter=${encodeURIComponent('Service == "db"')}`, 'filter', /^Failed to create boolean expression evaluator/],
  ])('%s: 400 naming %s', async (url, field, message) => {
    await expectRefused(h, { method: 'GET', url }, { status: 400, code: 'BEACON_ERR_VALIDATION', field, message });
  });
});

describe('GET /v1/health/state/:state', () => {
  it.each([
    ['passing', ['db-up', 'n1-alive', 'web-1-up']],
    ['warning', ['web-2-up']],
    ['critical', ['n3-disk']],
    ['any', ['db-up', 'n1-alive', 'n3-disk', 'web-1-up', 'web-2-up']],
  ])('%s', async (state, want) => {
    const res = await h.app.inject(`/v1/health/state/${state}`);
    expect(
      okJson<Check[]>(res)
        .map((c) => c.CheckID)
        .sort(),
    ).toEqual(want);
    expect(consulIndex(res)).toBe(h.catalog.tableIndex('checks'));
  });

  it('?filter narrows', async () => {
    const q = encodeURIComponent('Node == "n1"');
    expect(
      okJson<Check[]>(await h.app.inject(`/v1/health/state/passing?filter=${q}`))
        .map((c) => c.CheckID)
        .sort(),
    ).toEqual(['n1-alive', 'web-1-up']);
  });

  it.each([
    ['/v1/health/state/green', 'state', /^Bad check state: "green"/],
    ['/v1/health/state/', 'state', /^Missing check state/],
    ['/v1/health/state/PASSING', 'state', /^Bad check state: "PASSING"/],
  ])('%s: 400 naming %s', async (url, field, message) => {
    await expectRefused(h, { method: 'GET', url }, { status: 400, code: 'BEACON_ERR_VALIDATION', field, message });
  });
});
