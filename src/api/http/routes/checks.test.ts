/**
 * /v1/agent/check/*, maintenance and the agent's local health routes, in process: checks land
 * on this server's node, TTL updates reach the health subsystem with the node and the check ID
 * as sent (slashes included), and refused requests name the field and write nothing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_NODE_MAINT_REASON, DEFAULT_SERVICE_MAINT_REASON } from '../../../catalog/index.js';
import { consulIndex, expectRefused, okJson, openHttpApp, TEST_NODE, type TestHttpApp } from '../../../../test/helpers/http-app.js';

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

const put = (url: string, payload?: unknown) => h.app.inject({ method: 'PUT', url, ...(payload === undefined ? {} : { payload: payload as object }) });
const registerService = async (body: unknown) => expect((await put('/v1/agent/service/register', body)).statusCode).toBe(200);
const check = (id: string) => h.catalog.check(TEST_NODE, id)?.record;

describe('PUT /v1/agent/check/register', () => {
  it('registers a node check: ID defaults to Name, status to critical', async () => {
    const res = await put('/v1/agent/check/register', { Name: 'mem', TTL: '30s', Notes: 'memory' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe('');
    consulIndex(res);
    expect(check('mem')).toMatchObject({ Node: TEST_NODE, CheckID: 'mem', Name: 'mem', Status: 'critical', Notes: 'memory', ServiceID: '', Type: 'ttl' });
    expect(check('mem')!.Definition.TTLMs).toBe(30_000);
  });

  it('files a check under its service, with the service name and tags; ID, Status and snake_case taken', async () => {
    await registerService({ Name: 'web', ID: 'web-1', Tags: ['blue'] });
    const res = await put('/v1/agent/check/register', {
      name: 'web alive',
      id: 'web-alive',
      service_id: 'web-1',
      http: 'http://127.0.0.1:1/',
      interval: '15s',
      status: 'passing',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(check('web-alive')).toMatchObject({ ServiceID: 'web-1', ServiceName: 'web', ServiceTags: ['blue'], Status: 'passing', Type: 'http' });
    expect(h.catalog.checksOf(TEST_NODE, 'web-1').map((c) => c.record.CheckID)).toEqual(['web-alive']);
  });

  it('registering a check again keeps its status and output', async () => {
    await put('/v1/agent/check/register', { Name: 'mem', TTL: '30s' });
    await h.catalog.commands.setCheckStatus(TEST_NODE, 'mem', { status: 'warning', output: '91% used' });
    expect((await put('/v1/agent/check/register', { Name: 'mem', TTL: '60s', Notes: 'v2' })).statusCode).toBe(200);
    expect(check('mem')).toMatchObject({ Status: 'warning', Output: '91% used', Notes: 'v2' });
    expect(check('mem')!.Definition.TTLMs).toBe(60_000);
  });

  it('puts this node back first when a catalog deregister had removed it', async () => {
    await put('/v1/catalog/deregister', { Node: TEST_NODE });
    expect((await put('/v1/agent/check/register', { Name: 'mem', TTL: '30s' })).statusCode).toBe(200);
    expect(h.catalog.nodeRecord(TEST_NODE)!.record).toEqual(h.self);
    expect(check('mem')).toBeDefined();
  });

  describe('refuses bad input and writes nothing', () => {
    beforeEach(async () => {
      await registerService({ Name: 'web', ID: 'web-1' });
    });

    it('a ServiceID not on this node: 404 naming it', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/check/register', payload: { Name: 'x', TTL: '5s', ServiceID: 'nope' } },
        {
          status: 404,
          code: 'BEACON_ERR_NOT_FOUND',
          field: 'ServiceID',
          message: /^ServiceID "nope" does not exist/,
        },
      );
      expect(check('x')).toBeUndefined();
    });

    const cases: Array<[string, unknown, string, RegExp]> = [
      ['missing Name', { TTL: '5s' }, 'Name', /^Missing check name/],
      ['a bad Status', { Name: 'x', TTL: '5s', Status: 'green' }, 'Status', /Bad check status/],
      ['a bad TTL', { Name: 'x', TTL: 'soon' }, 'TTL', /^Invalid TTL: "soon" is not a duration/],
      ['TTL and Interval', { Name: 'x', TTL: '5s', Interval: '5s', HTTP: 'http://127.0.0.1/' }, 'body', /Interval and TTL cannot both be specified/],
      ['no check kind', { Name: 'x' }, 'body', /one of TTL, HTTP, TCP, GRPC or Args must be set/],
      ['HTTP not a URL', { Name: 'x', HTTP: 'nope', Interval: '10s' }, 'HTTP', /HTTP must be an absolute http\(s\) URL/],
      ['HTTP without Interval', { Name: 'x', HTTP: 'http://127.0.0.1/' }, 'Interval', /Interval must be > 0/],
      ['Interval as a list', { Name: 'x', TCP: 'db:5432', Interval: ['10s'] }, 'Interval', /^Invalid Interval/],
      [
        'Header values not lists',
        { Name: 'x', HTTP: 'http://127.0.0.1/', Interval: '10s', Header: { A: 'b' } },
        'Header.A',
        /^Invalid Header\.A: must be array/,
      ],
      [
        'FailuresBeforeWarning above FailuresBeforeCritical',
        { Name: 'x', TTL: '5s', FailuresBeforeWarning: 3, FailuresBeforeCritical: 2 },
        'FailuresBeforeWarning',
        /must be less than or equal to FailuresBeforeCritical/,
      ],
    ];
    it.each(cases)('%s', async (_label, payload, field, message) => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/check/register', payload: payload as object },
        { status: 400, code: 'BEACON_ERR_VALIDATION', field, message },
      );
    });

    it('a script check while script checks are disabled', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/check/register', payload: { Name: 'x', Args: ['/bin/true'], Interval: '10s' } },
        {
          status: 400,
          code: 'BEACON_ERR_SCRIPT_CHECKS_DISABLED',
          field: 'Args',
          message: /Scripts are disabled on this agent/,
        },
      );
    });

    it('another datacenter', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/check/register?dc=dc2', payload: { Name: 'x', TTL: '5s' } },
        {
          status: 500,
          code: 'BEACON_ERR_NO_PATH_TO_DC',
          message: /^No path to datacenter/,
        },
      );
    });
  });
});

describe('PUT /v1/agent/check/deregister/:id', () => {
  it('removes a node check or a service check; the service stays', async () => {
    await registerService({ Name: 'web', Check: { TTL: '5s' } });
    await put('/v1/agent/check/register', { Name: 'mem', TTL: '30s' });
    const res = await put('/v1/agent/check/deregister/mem');
    expect(res.statusCode).toBe(200);
    consulIndex(res);
    expect(check('mem')).toBeUndefined();
    expect((await put('/v1/agent/check/deregister/service:web')).statusCode).toBe(200);
    expect(check('service:web')).toBeUndefined();
    expect(h.catalog.serviceRecord(TEST_NODE, 'web')).toBeDefined();
  });

  it('takes an ID with slashes', async () => {
    await put('/v1/agent/check/register', { Name: 'disk', ID: 'disk/sda1', TTL: '30s' });
    expect(check('disk/sda1')).toBeDefined();
    expect((await put('/v1/agent/check/deregister/disk/sda1')).statusCode).toBe(200);
    expect(check('disk/sda1')).toBeUndefined();
  });

  it('an unknown ID is 200 and changes nothing', async () => {
    const before = await h.storeRevision();
    expect((await put('/v1/agent/check/deregister/nope')).statusCode).toBe(200);
    expect(await h.storeRevision()).toBe(before);
  });

  it('no ID, or another datacenter, is refused', async () => {
    await put('/v1/agent/check/register', { Name: 'mem', TTL: '30s' });
    await expectRefused(
      h,
      { method: 'PUT', url: '/v1/agent/check/deregister/' },
      { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'id', message: /^Missing check ID in the path/ },
    );
    await expectRefused(h, { method: 'PUT', url: '/v1/agent/check/deregister/mem?dc=dc2' }, { status: 500, code: 'BEACON_ERR_NO_PATH_TO_DC' });
    expect(check('mem')).toBeDefined();
  });
});

describe('GET /v1/agent/checks', () => {
  it("every check of this node by ID, with the node's index; ?filter selects, a bad one is 400", async () => {
    await registerService({ Name: 'web', Check: { TTL: '5s' } });
    await put('/v1/agent/check/register', { Name: 'mem', TTL: '30s', Status: 'passing' });
    const res = await h.app.inject('/v1/agent/checks');
    const body = okJson<Record<string, { CheckID: string; ServiceID: string; Status: string; Definition: Record<string, unknown> }>>(res);
    expect(Object.keys(body).sort()).toEqual(['mem', 'service:web']);
    expect(body['service:web']).toMatchObject({ ServiceID: 'web', ServiceName: 'web', Status: 'critical', Definition: { TTL: '5s' } });
    expect(consulIndex(res)).toBe(h.local.index());

    const passing = okJson<Record<string, unknown>>(await h.app.inject(`/v1/agent/checks?filter=${encodeURIComponent('Status == "passing"')}`));
    expect(Object.keys(passing)).toEqual(['mem']);
    await expectRefused(
      h,
      { method: 'GET', url: `/v1/agent/checks?filter=${encodeURIComponent('Status ~ passing')}` },
      { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'filter' },
    );
  });
});

describe('TTL updates', () => {
  it.each([
    ['pass', 'passing'],
    ['warn', 'warning'],
    ['fail', 'critical'],
  ] as const)('PUT /v1/agent/check/%s/:id hands the node, the check ID and ?note to the updater', async (verb, status) => {
    const res = await put(`/v1/agent/check/${verb}/service:web/1?note=${encodeURIComponent('all good')}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe('');
    consulIndex(res);
    expect(h.ttlCalls).toEqual([{ node: TEST_NODE, checkId: 'service:web/1', status, output: 'all good' }]);
  });

  it('no ?note is an empty output', async () => {
    expect((await put('/v1/agent/check/pass/mem')).statusCode).toBe(200);
    expect(h.ttlCalls).toEqual([{ node: TEST_NODE, checkId: 'mem', status: 'passing', output: '' }]);
  });

  it('an ID sent escaped arrives unescaped', async () => {
    expect((await put('/v1/agent/check/warn/service%3Aweb%2F1')).statusCode).toBe(200);
    expect(h.ttlCalls.map((c) => c.checkId)).toEqual(['service:web/1']);
  });

  it('PUT /v1/agent/check/update/:id takes Status and Output from the body, in any case', async () => {
    expect((await put('/v1/agent/check/update/service:web/1', { Status: 'warning', Output: 'slow' })).statusCode).toBe(200);
    expect((await put('/v1/agent/check/update/mem', { status: 'passing', output: 'ok' })).statusCode).toBe(200);
    expect(h.ttlCalls).toEqual([
      { node: TEST_NODE, checkId: 'service:web/1', status: 'warning', output: 'slow' },
      { node: TEST_NODE, checkId: 'mem', status: 'passing', output: 'ok' },
    ]);
  });

  it("the updater's BEACON_ERR_CHECK_NOT_TTL is Consul's 500 text", async () => {
    h.ttl.notTtl = true;
    await expectRefused(
      h,
      { method: 'PUT', url: '/v1/agent/check/pass/nope' },
      {
        status: 500,
        code: 'BEACON_ERR_CHECK_NOT_TTL',
        message: /^CheckID "nope" does not have associated TTL$/,
      },
    );
    await expectRefused(
      h,
      { method: 'PUT', url: '/v1/agent/check/update/nope', payload: { Status: 'passing' } },
      {
        status: 500,
        code: 'BEACON_ERR_CHECK_NOT_TTL',
      },
    );
  });

  describe('refused before the updater is called', () => {
    afterEach(() => {
      expect(h.ttlCalls).toEqual([]);
    });

    it.each(['pass', 'warn', 'fail', 'update'])('%s without an ID: 400 naming id', async (verb) => {
      await expectRefused(
        h,
        { method: 'PUT', url: `/v1/agent/check/${verb}/` },
        { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'id', message: /^Missing check ID in the path/ },
      );
    });

    it.each(['pass', 'warn', 'fail'])('%s in another datacenter', async (verb) => {
      await expectRefused(h, { method: 'PUT', url: `/v1/agent/check/${verb}/mem?dc=dc2` }, { status: 500, code: 'BEACON_ERR_NO_PATH_TO_DC' });
    });

    const bodies: Array<[string, unknown, string, RegExp]> = [
      ['a bad Status', { Status: 'green' }, 'Status', /^Invalid check status: 'green'/],
      ['no Status', { Output: 'x' }, 'Status', /^Invalid check status: ''/],
      ['Status not a string', { Status: 1 }, 'Status', /^Invalid Status: must be string/],
      ['Output too long', { Status: 'passing', Output: 'x'.repeat(65537) }, 'Output', /^Invalid Output/],
    ];
    it.each(bodies)('update with %s', async (_label, payload, field, message) => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/check/update/mem', payload: payload as object },
        { status: 400, code: 'BEACON_ERR_VALIDATION', field, message },
      );
    });

    it('update in another datacenter', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/check/update/mem?dc=dc2', payload: { Status: 'passing' } },
        { status: 500, code: 'BEACON_ERR_NO_PATH_TO_DC' },
      );
    });
  });
});

describe('maintenance', () => {
  beforeEach(async () => {
    await registerService({ Name: 'web', ID: 'web-1', Check: { TTL: '5s', Status: 'passing' } });
  });

  it('service maintenance: a critical check under the service while on; enabling twice writes once', async () => {
    const res = await put('/v1/agent/service/maintenance/web-1?enable=true&reason=deploy');
    expect(res.statusCode, res.body).toBe(200);
    consulIndex(res);
    expect(check('_service_maintenance:web-1')).toMatchObject({
      Status: 'critical',
      Notes: 'deploy',
      ServiceID: 'web-1',
      ServiceName: 'web',
      Type: 'maintenance',
    });
    const health = await h.app.inject('/v1/agent/health/service/id/web-1?format=text');
    expect([health.statusCode, health.body]).toEqual([503, 'maintenance']);

    const before = await h.storeRevision();
    expect((await put('/v1/agent/service/maintenance/web-1?enable=1')).statusCode).toBe(200);
    expect(await h.storeRevision()).toBe(before);

    expect((await put('/v1/agent/service/maintenance/web-1?enable=false')).statusCode).toBe(200);
    expect(check('_service_maintenance:web-1')).toBeUndefined();
    expect((await h.app.inject('/v1/agent/health/service/id/web-1')).statusCode).toBe(200);
  });

  it("without a reason, Consul's default notes", async () => {
    await put('/v1/agent/service/maintenance/web-1?enable=t');
    await put('/v1/agent/maintenance?enable=TRUE');
    expect(check('_service_maintenance:web-1')!.Notes).toBe(DEFAULT_SERVICE_MAINT_REASON);
    expect(check('_node_maintenance')!.Notes).toBe(DEFAULT_NODE_MAINT_REASON);
  });

  it('node maintenance: a critical node check that takes every instance out of ?passing', async () => {
    expect((await put('/v1/agent/maintenance?enable=true&reason=kernel')).statusCode).toBe(200);
    expect(check('_node_maintenance')).toMatchObject({ Status: 'critical', Notes: 'kernel', ServiceID: '' });
    expect(okJson<unknown[]>(await h.app.inject('/v1/health/service/web?passing'))).toEqual([]);
    expect((await put('/v1/agent/maintenance?enable=0')).statusCode).toBe(200);
    expect(check('_node_maintenance')).toBeUndefined();
    expect(okJson<unknown[]>(await h.app.inject('/v1/health/service/web?passing'))).toHaveLength(1);
  });

  it('deregistering the service takes its maintenance check with it', async () => {
    await put('/v1/agent/service/maintenance/web-1?enable=true');
    expect((await put('/v1/agent/service/deregister/web-1')).statusCode).toBe(200);
    expect(check('_service_maintenance:web-1')).toBeUndefined();
    expect(h.catalog.nodeChecks(TEST_NODE).value).toEqual([]);
  });

  it('node maintenance puts this node back when a catalog deregister had removed it', async () => {
    await put('/v1/catalog/deregister', { Node: TEST_NODE });
    const res = await put('/v1/agent/maintenance?enable=true');
    expect(res.statusCode, res.body).toBe(200);
    expect(h.catalog.nodeRecord(TEST_NODE)?.record).toEqual(h.self);
    expect(check('_node_maintenance')).toMatchObject({ Status: 'critical' });
  });

  it.each([
    ['/v1/agent/service/maintenance/web-1?enable=maybe', /^Invalid value for enable: "maybe"/],
    ['/v1/agent/service/maintenance/web-1?enable=', /^Invalid value for enable: ""/],
    ['/v1/agent/service/maintenance/web-1', /^Missing value for enable/],
    ['/v1/agent/maintenance?enable=yes', /^Invalid value for enable: "yes"/],
    ['/v1/agent/maintenance?reason=x', /^Missing value for enable/],
  ])('%s: 400 naming enable', async (url, message) => {
    await expectRefused(h, { method: 'PUT', url }, { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'enable', message });
  });

  it('an unknown service: 404; no ID: 400; another datacenter: 500', async () => {
    await expectRefused(
      h,
      { method: 'PUT', url: '/v1/agent/service/maintenance/nope?enable=true' },
      {
        status: 404,
        code: 'BEACON_ERR_NOT_FOUND',
        message: /^No service registered with ID "nope"$/,
      },
    );
    await expectRefused(h, { method: 'PUT', url: '/v1/agent/service/maintenance/?enable=true' }, { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'id' });
    await expectRefused(h, { method: 'PUT', url: '/v1/agent/service/maintenance/web-1?enable=true&dc=dc2' }, { status: 500, code: 'BEACON_ERR_NO_PATH_TO_DC' });
    await expectRefused(h, { method: 'PUT', url: '/v1/agent/maintenance?enable=true&dc=dc2' }, { status: 500, code: 'BEACON_ERR_NO_PATH_TO_DC' });
  });
});

describe('agent health of local services', () => {
  beforeEach(async () => {
    await registerService({ Name: 'web', ID: 'web-1', Check: { TTL: '5s', Status: 'passing' } });
    await registerService({ Name: 'web', ID: 'web-2', Check: { TTL: '5s', Status: 'warning' } });
    await registerService({ Name: 'db', ID: 'db-1', Check: { TTL: '5s' } });
  });

  it.each([
    ['web-1', 200, 'passing'],
    ['web-2', 429, 'warning'],
    ['db-1', 503, 'critical'],
  ])('by ID %s: %i %s', async (id, code, status) => {
    const text = await h.app.inject(`/v1/agent/health/service/id/${id}?format=text`);
    expect([text.statusCode, text.body]).toEqual([code, status]);
    expect(String(text.headers['content-type'])).toMatch(/^text\/plain/);
    const json = await h.app.inject(`/v1/agent/health/service/id/${id}`);
    expect(json.statusCode).toBe(code);
    consulIndex(json);
    expect(json.json()).toMatchObject({ AggregatedStatus: status, Service: { ID: id }, Checks: [{ ServiceID: id, Status: status }] });
  });

  it("by name: the worst instance decides the code, every instance listed; other nodes' instances are not", async () => {
    await put('/v1/catalog/register', {
      Node: 'n1',
      Address: '10.0.0.1',
      Service: { Service: 'web', ID: 'web-9' },
      Check: { CheckID: 'c', ServiceID: 'web-9', Status: 'critical' },
    });
    const res = await h.app.inject('/v1/agent/health/service/name/web');
    expect(res.statusCode).toBe(429);
    expect(
      res
        .json<{ AggregatedStatus: string }[]>()
        .map((e) => e.AggregatedStatus)
        .sort(),
    ).toEqual(['passing', 'warning']);
    const text = await h.app.inject({ url: '/v1/agent/health/service/name/web', headers: { accept: 'text/plain' } });
    expect([text.statusCode, text.body]).toEqual([429, 'warning']);
  });

  it('unknown: 404, in both forms', async () => {
    const byId = await h.app.inject('/v1/agent/health/service/id/nope?format=text');
    expect([byId.statusCode, byId.body]).toEqual([404, 'ServiceId nope not found']);
    expect((await h.app.inject('/v1/agent/health/service/id/nope')).json()).toEqual({ AggregatedStatus: 'critical', Checks: null, Service: null });
    const byName = await h.app.inject('/v1/agent/health/service/name/nope?format=text');
    expect([byName.statusCode, byName.body]).toEqual([404, 'ServiceName nope Not Found']);
  });
});
