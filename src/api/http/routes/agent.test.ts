/**
 * /v1/agent/service/* and the agent's read routes, in process: what a registration writes on
 * this server's node, and that every refused body answers Consul's text naming the field and
 * writes nothing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

const register = (payload: unknown, query = '') => h.app.inject({ method: 'PUT', url: `/v1/agent/service/register${query}`, payload: payload as object });
const checkIds = (serviceId: string) =>
  h.catalog
    .checksOf(TEST_NODE, serviceId)
    .map((c) => c.record.CheckID)
    .sort();

describe('PUT /v1/agent/service/register', () => {
  it('registers a service on this node with Consul defaults', async () => {
    const res = await register({ Name: 'web' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    consulIndex(res);

    const svc = h.catalog.serviceRecord(TEST_NODE, 'web')!;
    expect(svc.record).toEqual({
      ID: 'web',
      Service: 'web',
      Tags: [],
      Address: '',
      TaggedAddresses: {},
      Meta: {},
      Port: 0,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Kind: '',
    });
    expect(checkIds('web')).toEqual([]);

    const list = okJson<Record<string, Record<string, unknown>>>(await h.app.inject('/v1/agent/services'));
    expect(Object.keys(list)).toEqual(['web']);
    expect(list.web).toMatchObject({
      ID: 'web',
      Service: 'web',
      Tags: [],
      Meta: {},
      Port: 0,
      Address: '',
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Datacenter: 'dc1',
      CreateIndex: svc.createIndex,
      ModifyIndex: svc.modifyIndex,
    });
  });

  it('takes every field, case-insensitively and in snake_case', async () => {
    const res = await register({
      id: 'web-1',
      name: 'web',
      tags: ['a', 'b'],
      address: '10.0.0.5',
      port: 8080,
      meta: { version: '2' },
      weights: { passing: 3, warning: 1 },
      enable_tag_override: true,
      tagged_addresses: { lan: { address: '10.0.0.5', port: 8080 } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(h.catalog.serviceRecord(TEST_NODE, 'web-1')!.record).toEqual({
      ID: 'web-1',
      Service: 'web',
      Tags: ['a', 'b'],
      Address: '10.0.0.5',
      Meta: { version: '2' },
      Port: 8080,
      TaggedAddresses: { lan: { Address: '10.0.0.5', Port: 8080 } },
      Weights: { Passing: 3, Warning: 1 },
      EnableTagOverride: true,
      Kind: '',
    });
  });

  it('a single Check is service:<id>; Check and Checks together are numbered service:<id>:<n>', async () => {
    expect((await register({ Name: 'web', ID: 'web-1', Check: { TTL: '10s' } })).statusCode).toBe(200);
    expect(checkIds('web-1')).toEqual(['service:web-1']);
    const c = h.catalog.check(TEST_NODE, 'service:web-1')!.record;
    expect(c).toMatchObject({ Name: "Service 'web' check", Status: 'critical', ServiceID: 'web-1', ServiceName: 'web', Type: 'ttl' });
    expect(c.Definition.TTLMs).toBe(10_000);

    const res = await register({
      Name: 'api',
      ID: 'api-1',
      Tags: ['v1'],
      Check: { TTL: '10s' },
      Checks: [
        { HTTP: 'http://127.0.0.1:1/health', Interval: '10s' },
        { CheckID: 'own', Name: 'own', TTL: '5s', Status: 'passing' },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(checkIds('api-1')).toEqual(['own', 'service:api-1:1', 'service:api-1:2']);
    expect(h.catalog.check(TEST_NODE, 'service:api-1:2')!.record).toMatchObject({ Type: 'http', ServiceTags: ['v1'], Status: 'critical' });
    expect(h.catalog.check(TEST_NODE, 'own')!.record).toMatchObject({ Name: 'own', Status: 'passing' });
  });

  it('writes the service and its checks in one revision', async () => {
    const before = await h.storeRevision();
    await register({ Name: 'web', Checks: [{ TTL: '10s' }, { TTL: '20s' }] });
    expect(await h.storeRevision()).toBe(before + 1);
    const svc = h.catalog.serviceRecord(TEST_NODE, 'web')!;
    for (const c of h.catalog.checksOf(TEST_NODE, 'web')) expect(c.modifyIndex).toBe(svc.modifyIndex);
  });

  it('re-registering keeps the checks not listed, unless ?replace-existing-checks', async () => {
    await register({
      Name: 'web',
      Checks: [
        { CheckID: 'a', Name: 'a', TTL: '10s' },
        { CheckID: 'b', Name: 'b', TTL: '10s' },
      ],
    });
    expect(checkIds('web')).toEqual(['a', 'b']);

    expect((await register({ Name: 'web', Tags: ['new'], Checks: [{ CheckID: 'a', Name: 'a', TTL: '10s' }] })).statusCode).toBe(200);
    expect(checkIds('web')).toEqual(['a', 'b']);
    // A kept check follows the service's new tags.
    expect(h.catalog.check(TEST_NODE, 'b')!.record.ServiceTags).toEqual(['new']);

    expect((await register({ Name: 'web', Checks: [{ CheckID: 'a', Name: 'a', TTL: '10s' }] }, '?replace-existing-checks=false')).statusCode).toBe(200);
    expect(checkIds('web')).toEqual(['a', 'b']);

    expect((await register({ Name: 'web', Checks: [{ CheckID: 'a', Name: 'a', TTL: '10s' }] }, '?replace-existing-checks')).statusCode).toBe(200);
    expect(checkIds('web')).toEqual(['a']);

    expect((await register({ Name: 'web' }, '?replace-existing-checks=true')).statusCode).toBe(200);
    expect(checkIds('web')).toEqual([]);
  });

  it('re-registering a check keeps its status and output', async () => {
    await register({ Name: 'web', Check: { TTL: '10s' } });
    await h.catalog.commands.setCheckStatus(TEST_NODE, 'service:web', { status: 'passing', output: 'all good' });
    expect((await register({ Name: 'web', Port: 81, Check: { TTL: '30s', Notes: 'changed' } })).statusCode).toBe(200);
    const c = h.catalog.check(TEST_NODE, 'service:web')!.record;
    expect(c).toMatchObject({ Status: 'passing', Output: 'all good', Notes: 'changed' });
    expect(c.Definition.TTLMs).toBe(30_000);
    expect(h.catalog.serviceRecord(TEST_NODE, 'web')!.record.Port).toBe(81);
  });

  it('registers a script check when script checks are enabled', async () => {
    const scripts = await openHttpApp({ config: { enableScriptChecks: true } });
    try {
      const res = await scripts.app.inject({
        method: 'PUT',
        url: '/v1/agent/service/register',
        payload: { Name: 'web', Check: { Args: ['/bin/true'], Interval: '10s' } },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(scripts.catalog.check(TEST_NODE, 'service:web')!.record).toMatchObject({ Type: 'script', Definition: { Args: ['/bin/true'] } });
    } finally {
      await scripts.close();
    }
  });

  it('puts this node back first when a catalog deregister had removed it', async () => {
    await h.app.inject({ method: 'PUT', url: '/v1/catalog/deregister', payload: { Node: TEST_NODE } });
    expect(h.catalog.nodeRecord(TEST_NODE)).toBeUndefined();
    expect((await register({ Name: 'web' })).statusCode).toBe(200);
    expect(h.catalog.nodeRecord(TEST_NODE)!.record).toEqual(h.self);
    expect(h.catalog.serviceRecord(TEST_NODE, 'web')).toBeDefined();
  });

  describe('refuses bad input, naming the field, and writes nothing', () => {
    beforeEach(async () => {
      // Something already there, to see it is left alone.
      expect((await register({ Name: 'web', ID: 'web-1', Port: 80, Check: { TTL: '10s' } })).statusCode).toBe(200);
    });

    const cases: Array<[string, unknown, string, RegExp]> = [
      ['missing Name', { Port: 80 }, 'Name', /^Missing service name/],
      ['Port above 65535', { Name: 'web', ID: 'web-1', Port: 70000 }, 'Port', /^Invalid Port: must be <= 65535/],
      ['negative Port', { Name: 'web', Port: -1 }, 'Port', /^Invalid Port: must be >= 0/],
      ['Port as a string', { Name: 'web', Port: '80' }, 'Port', /^Invalid Port: must be integer/],
      ['Weights.Passing 0', { Name: 'web', Weights: { Passing: 0, Warning: 1 } }, 'Weights.Passing', /^Invalid Weights: Passing must be greater than 0/],
      ['Weights without Passing', { Name: 'web', Weights: { Warning: 2 } }, 'Weights.Passing', /Passing must be greater than 0/],
      ['Weights.Warning negative', { Name: 'web', Weights: { Passing: 1, Warning: -1 } }, 'Weights.Warning', /^Invalid Weights\.Warning/],
      ['Meta key with a space', { Name: 'web', Meta: { 'bad key': 'x' } }, 'Meta', /key "bad key" must be 1-128 characters/],
      ['Meta key with the consul- prefix', { Name: 'web', Meta: { 'consul-x': '1' } }, 'Meta.consul-x', /reserved prefix "consul-"/],
      ['Meta value not a string', { Name: 'web', Meta: { a: 1 } }, 'Meta.a', /^Invalid Meta\.a: must be string/],
      ['Tags not a list', { Name: 'web', Tags: 'a,b' }, 'Tags', /^Invalid Tags: must be array/],
      ['Address 0.0.0.0', { Name: 'web', Address: '0.0.0.0' }, 'Address', /^Invalid service address/],
      [
        'duplicate CheckID',
        {
          Name: 'web',
          Checks: [
            { CheckID: 'x', TTL: '5s' },
            { CheckID: 'x', TTL: '5s' },
          ],
        },
        'Checks',
        /duplicate CheckID "x"/,
      ],
      [
        'Check and Checks generating one ID twice',
        { Name: 'web', Check: { CheckID: 'service:web:2', TTL: '5s' }, Checks: [{ TTL: '5s' }] },
        'Checks',
        /duplicate CheckID "service:web:2"/,
      ],
      ['Check with a bad TTL', { Name: 'web', Check: { TTL: 'soon' } }, 'Check.TTL', /is not a duration/],
      ['Check with no kind', { Name: 'web', Check: { Notes: 'x' } }, 'Check', /one of TTL, HTTP, TCP, GRPC or Args must be set/],
      [
        'Checks[1] with a bad status',
        { Name: 'web', Checks: [{ TTL: '5s' }, { TTL: '5s', Status: 'green' }] },
        'Checks[1].Status',
        /Status for checks must 'passing', 'warning', 'critical'/,
      ],
      ['Checks[0] with a bad TCP port', { Name: 'web', Checks: [{ TCP: 'db:0', Interval: '10s' }] }, 'Checks[0].TCP', /HOST:PORT/],
      ['a legacy Script check', { Name: 'web', Check: { Script: '/bin/true', Interval: '10s' } }, 'Check.Script', /legacy Script field/],
      ['body not an object', [1, 2], 'body', /^Invalid body: must be object/],
    ];
    it.each(cases)('%s', async (_label, payload, field, message) => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/service/register', payload: payload as object },
        {
          status: 400,
          code: 'BEACON_ERR_VALIDATION',
          field,
          message,
        },
      );
      expect(h.catalog.serviceRecord(TEST_NODE, 'web-1')!.record.Port).toBe(80);
      expect(h.catalog.serviceRecord(TEST_NODE, 'web')).toBeUndefined();
    });

    it('a script check while script checks are disabled', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/service/register', payload: { Name: 'web', Check: { Args: ['/bin/true'], Interval: '10s' } } },
        {
          status: 400,
          code: 'BEACON_ERR_SCRIPT_CHECKS_DISABLED',
          field: 'Check.Args',
          message: /^Invalid check: Scripts are disabled on this agent/,
        },
      );
    });

    it('malformed JSON', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/service/register', payload: '{"Name": "web",', headers: { 'content-type': 'application/json' } },
        {
          status: 400,
          code: 'BEACON_ERR_BAD_JSON',
          field: 'body',
          message: /^Request decode failed/,
        },
      );
    });

    it('a bad ?replace-existing-checks value', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/service/register?replace-existing-checks=maybe', payload: { Name: 'web', ID: 'web-1' } },
        {
          status: 400,
          code: 'BEACON_ERR_VALIDATION',
          field: 'replace-existing-checks',
        },
      );
      expect(h.catalog.check(TEST_NODE, 'service:web-1')).toBeDefined();
    });

    it('another datacenter: No path to datacenter', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/agent/service/register?dc=other', payload: { Name: 'web', ID: 'web-1', Port: 81 } },
        {
          status: 500,
          code: 'BEACON_ERR_NO_PATH_TO_DC',
          message: /^No path to datacenter/,
        },
      );
    });

    it('the wrong method: 405 with Allow', async () => {
      const before = await h.storeRevision();
      const res = await h.app.inject({ method: 'POST', url: '/v1/agent/service/register', payload: { Name: 'web' } });
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe('PUT');
      expect(res.headers['x-beacon-error']).toBe('BEACON_ERR_METHOD_NOT_ALLOWED');
      expect(await h.storeRevision()).toBe(before);
    });
  });
});

describe('PUT /v1/agent/service/deregister/:id', () => {
  it('removes the service and its checks', async () => {
    await register({ Name: 'web', ID: 'web-1', Checks: [{ TTL: '5s' }, { TTL: '6s' }] });
    await register({ Name: 'web', ID: 'web-2' });
    const res = await h.app.inject({ method: 'PUT', url: '/v1/agent/service/deregister/web-1' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    consulIndex(res);
    expect(h.catalog.serviceRecord(TEST_NODE, 'web-1')).toBeUndefined();
    expect(checkIds('web-1')).toEqual([]);
    expect(h.catalog.serviceRecord(TEST_NODE, 'web-2')).toBeDefined();
  });

  it('takes an ID with slashes', async () => {
    await register({ Name: 'web', ID: 'web/1' });
    expect((await h.app.inject({ method: 'PUT', url: '/v1/agent/service/deregister/web/1' })).statusCode).toBe(200);
    expect(h.catalog.serviceRecord(TEST_NODE, 'web/1')).toBeUndefined();
  });

  it('an unknown ID is 200 and changes nothing', async () => {
    await register({ Name: 'web' });
    const before = await h.storeRevision();
    const res = await h.app.inject({ method: 'PUT', url: '/v1/agent/service/deregister/nope' });
    expect(res.statusCode).toBe(200);
    expect(await h.storeRevision()).toBe(before);
  });

  it('no ID: 400 naming it', async () => {
    await expectRefused(
      h,
      { method: 'PUT', url: '/v1/agent/service/deregister/' },
      { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'id', message: /Missing service ID/ },
    );
  });

  it('another datacenter: No path to datacenter, the service stays', async () => {
    await register({ Name: 'web' });
    await expectRefused(
      h,
      { method: 'PUT', url: '/v1/agent/service/deregister/web?dc=dc2' },
      { status: 500, code: 'BEACON_ERR_NO_PATH_TO_DC', message: /^No path to datacenter/ },
    );
    expect(h.catalog.serviceRecord(TEST_NODE, 'web')).toBeDefined();
  });
});

describe('agent reads', () => {
  beforeEach(async () => {
    await register({ Name: 'web', ID: 'web-1', Tags: ['blue'], Port: 80 });
    await register({ Name: 'web', ID: 'web/2', Port: 81 });
    await register({ Name: 'db', Port: 5432 });
  });

  it("GET /v1/agent/services: every service of this node by ID, with the node's index", async () => {
    const res = await h.app.inject('/v1/agent/services');
    const body = okJson<Record<string, { ID: string; Port: number }>>(res);
    expect(Object.keys(body).sort()).toEqual(['db', 'web-1', 'web/2']);
    expect(body['web/2'].Port).toBe(81);
    expect(consulIndex(res)).toBe(h.local.index());
  });

  it('GET /v1/agent/services?filter selects; a bad expression is 400 naming filter', async () => {
    const body = okJson<Record<string, unknown>>(await h.app.inject(`/v1/agent/services?filter=${encodeURIComponent('Service == "web" and "blue" in Tags')}`));
    expect(Object.keys(body)).toEqual(['web-1']);
    await expectRefused(
      h,
      { method: 'GET', url: `/v1/agent/services?filter=${encodeURIComponent('Service ==')}` },
      {
        status: 400,
        code: 'BEACON_ERR_VALIDATION',
        field: 'filter',
        message: /^Failed to create boolean expression evaluator/,
      },
    );
    await expectRefused(
      h,
      { method: 'GET', url: `/v1/agent/services?filter=${encodeURIComponent('NoSuchField == "x"')}` },
      {
        status: 400,
        code: 'BEACON_ERR_VALIDATION',
        field: 'filter',
      },
    );
  });

  it('GET /v1/agent/service/:id, slashes included; unknown is 404', async () => {
    const one = okJson<{ ID: string; Service: string; Tags: string[] }>(await h.app.inject('/v1/agent/service/web-1'));
    expect(one).toMatchObject({ ID: 'web-1', Service: 'web', Tags: ['blue'], Port: 80, Datacenter: 'dc1' });
    expect(okJson<{ ID: string }>(await h.app.inject('/v1/agent/service/web/2')).ID).toBe('web/2');
    await expectRefused(
      h,
      { method: 'GET', url: '/v1/agent/service/nope' },
      { status: 404, code: 'BEACON_ERR_NOT_FOUND', message: /unknown service ID: nope/ },
    );
    await expectRefused(h, { method: 'GET', url: '/v1/agent/service/' }, { status: 400, code: 'BEACON_ERR_VALIDATION', field: 'id' });
  });

  it('GET /v1/agent/self and /v1/agent/members describe this server', async () => {
    const self = okJson<{ Config: Record<string, unknown>; Member: { Name: string; Addr: string } }>(await h.app.inject('/v1/agent/self'));
    expect(self.Config).toMatchObject({ Datacenter: 'dc1', NodeName: TEST_NODE, NodeID: h.self.ID, Server: true, Version: '0.0.0-test' });
    expect(self.Member).toMatchObject({ Name: TEST_NODE, Addr: '127.0.0.1' });
    const members = okJson<{ Name: string; Status: number }[]>(await h.app.inject('/v1/agent/members'));
    expect(members).toEqual([expect.objectContaining({ Name: TEST_NODE, Status: 1 })]);
  });

  it('reads take ?dc: another one is No path to datacenter', async () => {
    await expectRefused(
      h,
      { method: 'GET', url: '/v1/agent/services?dc=dc9' },
      { status: 500, code: 'BEACON_ERR_NO_PATH_TO_DC', message: /^No path to datacenter/ },
    );
    expect(okJson(await h.app.inject('/v1/agent/services?dc=dc1'))).toHaveProperty('db');
  });
});
