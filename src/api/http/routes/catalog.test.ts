/**
 * /v1/catalog/*, in process: a register writes its node, service and checks in one revision,
 * ?cas= writes only over the modify index given (0: create only), refused bodies name the
 * field and write nothing, and the reads answer with the index of their data.
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

const put = (url: string, payload: unknown) => h.app.inject({ method: 'PUT', url, payload: payload as object });
/** A write that must answer 200 with `want` (true or false). */
async function write(url: string, payload: unknown, want: boolean): Promise<void> {
  const res = await put(url, payload);
  expect(res.statusCode, res.body).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  consulIndex(res);
  expect(res.json()).toBe(want);
}
const NODE = { Node: 'n1', Address: '10.0.0.1' };
const serviceIndex = (node: string, id: string) => h.catalog.serviceRecord(node, id)!.modifyIndex;

describe('PUT /v1/catalog/register', () => {
  it('writes the node, its service and its checks in one revision', async () => {
    const before = await h.storeRevision();
    await write(
      '/v1/catalog/register',
      {
        ...NODE,
        NodeMeta: { rack: 'r1' },
        TaggedAddresses: { wan: '198.51.100.1' },
        Service: { Service: 'db', ID: 'db-1', Port: 5432, Tags: ['primary'] },
        Check: { Name: 'db alive', CheckID: 'db-alive', ServiceID: 'db-1', Status: 'passing', Output: 'ok' },
        Checks: [{ CheckID: 'disk', Name: 'disk', Status: 'warning' }, { Name: 'cpu' }],
      },
      true,
    );
    const rev = await h.storeRevision();
    expect(rev).toBe(before + 1);

    const node = h.catalog.nodeRecord('n1')!;
    expect(node.modifyIndex).toBe(rev);
    expect(node.record).toMatchObject({
      Node: 'n1',
      Address: '10.0.0.1',
      Datacenter: 'dc1',
      Meta: { rack: 'r1' },
      TaggedAddresses: { lan: '10.0.0.1', lan_ipv4: '10.0.0.1', wan: '198.51.100.1', wan_ipv4: '10.0.0.1' },
    });
    expect(node.record.ID).toMatch(/^[0-9a-f-]{36}$/);
    expect(serviceIndex('n1', 'db-1')).toBe(rev);
    const checks = h.catalog.nodeChecks('n1').value;
    expect(checks.map((c) => [c.record.CheckID, c.record.Status, c.record.ServiceID, c.modifyIndex]).sort()).toEqual([
      ['cpu', 'critical', '', rev],
      ['db-alive', 'passing', 'db-1', rev],
      ['disk', 'warning', '', rev],
    ]);
    expect(h.catalog.check('n1', 'db-alive')!.record).toMatchObject({ ServiceName: 'db', ServiceTags: ['primary'], Output: 'ok' });
  });

  it('a check may name a service the node already has; keys are case-insensitive', async () => {
    await write('/v1/catalog/register', { ...NODE, Service: { Service: 'web', ID: 'web-1' } }, true);
    await write(
      '/v1/catalog/register',
      {
        node: 'n1',
        address: '10.0.0.1',
        checks: [{ check_id: 'web-http', service_id: 'web-1', status: 'passing', definition: { http: 'http://10.0.0.1/', interval: '10s' } }],
      },
      true,
    );
    expect(h.catalog.check('n1', 'web-http')!.record).toMatchObject({
      ServiceID: 'web-1',
      ServiceName: 'web',
      Status: 'passing',
      Definition: { HTTP: 'http://10.0.0.1/', IntervalMs: 10_000 },
    });
    expect(h.catalog.serviceRecord('n1', 'web-1')).toBeDefined();
  });

  it('SkipNodeUpdate leaves an existing node as it is', async () => {
    await write('/v1/catalog/register', { ...NODE, NodeMeta: { a: '1' } }, true);
    const node = h.catalog.nodeRecord('n1')!;
    await write('/v1/catalog/register', { Node: 'n1', Address: '10.9.9.9', SkipNodeUpdate: true, Service: { Service: 'web' } }, true);
    expect(h.catalog.nodeRecord('n1')).toEqual(node);
    expect(h.catalog.serviceRecord('n1', 'web')).toBeDefined();
  });

  it("keeps a node's ID when the body gives none", async () => {
    const id = '0b0e4c6e-2f55-4f49-8f0c-6c2f1b7b9a10';
    await write('/v1/catalog/register', { ...NODE, ID: id }, true);
    await write('/v1/catalog/register', { ...NODE, Address: '10.0.0.2' }, true);
    expect(h.catalog.nodeRecord('n1')!.record).toMatchObject({ ID: id, Address: '10.0.0.2' });
  });

  describe('?cas=', () => {
    it("with a Service: 0 creates only; the service's modify index replaces; anything else is false and writes nothing", async () => {
      const svc = { ...NODE, Service: { Service: 'web', ID: 'web-1', Port: 80 } };
      await write('/v1/catalog/register?cas=0', svc, true);
      const first = serviceIndex('n1', 'web-1');

      const before = await h.storeRevision();
      await write('/v1/catalog/register?cas=0', { ...svc, Service: { ...svc.Service, Port: 81 } }, false);
      await write(`/v1/catalog/register?cas=${first + 1}`, { ...svc, Service: { ...svc.Service, Port: 81 } }, false);
      await write(`/v1/catalog/register?cas=${first - 1}`, { ...svc, Service: { ...svc.Service, Port: 81 } }, false);
      expect(await h.storeRevision()).toBe(before);
      expect(h.catalog.serviceRecord('n1', 'web-1')!.record.Port).toBe(80);

      await write(`/v1/catalog/register?cas=${first}`, { ...svc, Service: { ...svc.Service, Port: 82 } }, true);
      expect(h.catalog.serviceRecord('n1', 'web-1')!.record.Port).toBe(82);
      // The index it matched is now stale.
      await write(`/v1/catalog/register?cas=${first}`, { ...svc, Service: { ...svc.Service, Port: 83 } }, false);
      expect(h.catalog.serviceRecord('n1', 'web-1')!.record.Port).toBe(82);
    });

    it('a non-zero index for a service that does not exist is false', async () => {
      await write('/v1/catalog/register', NODE, true);
      await write('/v1/catalog/register?cas=5', { ...NODE, Service: { Service: 'web' } }, false);
      expect(h.catalog.serviceRecord('n1', 'web')).toBeUndefined();
    });

    it("without a Service: the node's modify index", async () => {
      await write('/v1/catalog/register?cas=0', NODE, true);
      const idx = h.catalog.nodeRecord('n1')!.modifyIndex;
      await write('/v1/catalog/register?cas=0', { ...NODE, Address: '10.0.0.2' }, false);
      await write(`/v1/catalog/register?cas=${idx + 1}`, { ...NODE, Address: '10.0.0.2' }, false);
      expect(h.catalog.nodeRecord('n1')!.record.Address).toBe('10.0.0.1');
      await write(`/v1/catalog/register?cas=${idx}`, { ...NODE, Address: '10.0.0.2' }, true);
      expect(h.catalog.nodeRecord('n1')!.record.Address).toBe('10.0.0.2');
    });

    it.each(['abc', '-1', '1.5', '', '0x10', '1234567890123456'])('cas=%j: 400 naming cas', async (cas) => {
      await expectRefused(
        h,
        { method: 'PUT', url: `/v1/catalog/register?cas=${cas}`, payload: NODE },
        {
          status: 400,
          code: 'BEACON_ERR_VALIDATION',
          field: 'cas',
          message: /^Invalid cas: /,
        },
      );
      expect(h.catalog.nodeRecord('n1')).toBeUndefined();
    });
  });

  describe('refuses bad input, naming the field, and writes nothing', () => {
    beforeEach(async () => {
      await write('/v1/catalog/register', { ...NODE, Service: { Service: 'web', ID: 'web-1' } }, true);
    });

    const cases: Array<[string, unknown, string, RegExp]> = [
      ['missing Node', { Address: '10.0.0.1' }, 'Node', /^Missing node name/],
      ['a Node with a slash', { Node: 'a/b', Address: '10.0.0.1' }, 'Node', /^Invalid Node: "a\/b"/],
      ['missing Address', { Node: 'n2' }, 'Address', /^Missing node address/],
      ['an ID that is not a UUID', { ...NODE, ID: 'node-1' }, 'ID', /^Invalid ID: "node-1" must be a UUID/],
      ['a NodeMeta key with a space', { ...NODE, NodeMeta: { 'a b': 'x' } }, 'NodeMeta', /key "a b" must be 1-128 characters/],
      ['NodeMeta with a non-string value', { ...NODE, NodeMeta: { a: 1 } }, 'NodeMeta.a', /^Invalid NodeMeta\.a: must be string/],
      ['a Service without a name', { ...NODE, Service: { Port: 80 } }, 'Service.Name', /^Missing service name/],
      ['a Service Port out of range', { ...NODE, Service: { Service: 'db', Port: 70000 } }, 'Service.Port', /^Invalid Service\.Port: must be <= 65535/],
      [
        'a Service Meta key with the consul- prefix',
        { ...NODE, Service: { Service: 'db', Meta: { 'consul-x': 'y' } } },
        'Service.Meta.consul-x',
        /reserved prefix "consul-"/,
      ],
      [
        'Service Weights.Passing 0',
        { ...NODE, Service: { Service: 'db', Weights: { Passing: 0, Warning: 1 } } },
        'Service.Weights.Passing',
        /Passing must be greater than 0/,
      ],
      [
        'Check.ServiceID not on the node',
        { ...NODE, Check: { CheckID: 'c', ServiceID: 'nope' } },
        'Check.ServiceID',
        /^ServiceID "nope" does not exist on node "n1"/,
      ],
      [
        'Checks[1].ServiceID not on the node',
        { ...NODE, Checks: [{ CheckID: 'a' }, { CheckID: 'b', ServiceID: 'nope' }] },
        'Checks[1].ServiceID',
        /^ServiceID "nope" does not exist on node "n1"/,
      ],
      [
        'Checks[0].ServiceID on another node',
        { Node: 'n2', Address: '10.0.0.2', Checks: [{ CheckID: 'a', ServiceID: 'web-1' }] },
        'Checks[0].ServiceID',
        /does not exist on node "n2"/,
      ],
      ['a check without CheckID or Name', { ...NODE, Checks: [{ Status: 'passing' }] }, 'Checks[0].CheckID', /^Missing check ID \(CheckID or Name\)/],
      ['a bad check Status', { ...NODE, Check: { CheckID: 'c', Status: 'green' } }, 'Check.Status', /^Invalid check status: 'green'/],
      [
        'a bad Definition',
        { ...NODE, Checks: [{ CheckID: 'c', Definition: { HTTP: 'http://x/', Interval: 'often' } }] },
        'Checks[0].Definition.Interval',
        /is not a duration/,
      ],
      ['SkipNodeUpdate not a boolean', { ...NODE, SkipNodeUpdate: 'yes' }, 'SkipNodeUpdate', /^Invalid SkipNodeUpdate: must be boolean/],
      ['body not an object', 'n1', 'body', /^Invalid body: must be object/],
    ];
    it.each(cases)('%s', async (_label, payload, field, message) => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/catalog/register', payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } },
        {
          status: 400,
          code: 'BEACON_ERR_VALIDATION',
          field,
          message,
        },
      );
      expect(h.catalog.nodeRecord('n2')).toBeUndefined();
      expect(h.catalog.nodeChecks('n1').value).toEqual([]);
    });

    it('two checks with one CheckID (in Checks, or in Check and Checks): 400 naming the second, nothing written', async () => {
      await expectRefused(
        h,
        {
          method: 'PUT',
          url: '/v1/catalog/register',
          payload: {
            ...NODE,
            Checks: [
              { CheckID: 'a', Status: 'passing' },
              { CheckID: 'a', Status: 'critical' },
            ],
          },
        },
        {
          status: 400,
          code: 'BEACON_ERR_VALIDATION',
          message: /^Invalid check: duplicate CheckID "a"/,
          field: 'Checks[1].CheckID',
        },
      );
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/catalog/register', payload: { ...NODE, Check: { CheckID: 'a' }, Checks: [{ Name: 'a' }] } },
        {
          status: 400,
          code: 'BEACON_ERR_VALIDATION',
          message: /^Invalid check: duplicate CheckID "a"/,
          field: 'Checks[0].CheckID',
        },
      );
    });

    it('another Datacenter in the body: No path to datacenter', async () => {
      await expectRefused(
        h,
        { method: 'PUT', url: '/v1/catalog/register', payload: { Node: 'n2', Address: '10.0.0.2', Datacenter: 'dc2' } },
        {
          status: 500,
          code: 'BEACON_ERR_NO_PATH_TO_DC',
          message: /^No path to datacenter: "dc2"/,
        },
      );
    });
  });
});

describe('PUT /v1/catalog/deregister', () => {
  beforeEach(async () => {
    await write(
      '/v1/catalog/register',
      {
        ...NODE,
        Service: { Service: 'web', ID: 'web-1' },
        Checks: [
          { CheckID: 'web-up', ServiceID: 'web-1', Status: 'passing' },
          { CheckID: 'disk', Status: 'passing' },
        ],
      },
      true,
    );
    await write('/v1/catalog/register', { ...NODE, Service: { Service: 'web', ID: 'web-2' } }, true);
  });

  it('a check', async () => {
    await write('/v1/catalog/deregister', { Node: 'n1', CheckID: 'web-up' }, true);
    expect(h.catalog.check('n1', 'web-up')).toBeUndefined();
    expect(h.catalog.check('n1', 'disk')).toBeDefined();
    expect(h.catalog.serviceRecord('n1', 'web-1')).toBeDefined();
  });

  it('a service, with its checks', async () => {
    await write('/v1/catalog/deregister', { Node: 'n1', ServiceID: 'web-1' }, true);
    expect(h.catalog.serviceRecord('n1', 'web-1')).toBeUndefined();
    expect(h.catalog.check('n1', 'web-up')).toBeUndefined();
    expect(h.catalog.serviceRecord('n1', 'web-2')).toBeDefined();
    expect(h.catalog.check('n1', 'disk')).toBeDefined();
  });

  it('a node, with everything on it, in one revision', async () => {
    const before = await h.storeRevision();
    await write('/v1/catalog/deregister', { node: 'n1' }, true);
    expect(await h.storeRevision()).toBe(before + 1);
    expect(h.catalog.nodeRecord('n1')).toBeUndefined();
    expect(h.catalog.node('n1').value).toBeUndefined();
    expect(h.catalog.instances('web').value).toEqual([]);
    expect(h.catalog.nodeRecord(TEST_NODE)).toBeDefined();
  });

  it('what is not there: true, and nothing written', async () => {
    const before = await h.storeRevision();
    await write('/v1/catalog/deregister', { Node: 'nope' }, true);
    await write('/v1/catalog/deregister', { Node: 'n1', ServiceID: 'nope' }, true);
    await write('/v1/catalog/deregister', { Node: 'n1', CheckID: 'nope' }, true);
    expect(await h.storeRevision()).toBe(before);
  });

  it('?cas= on a check, a service and a node: only at its modify index', async () => {
    const checkIdx = h.catalog.check('n1', 'disk')!.modifyIndex;
    const before = await h.storeRevision();
    await write(`/v1/catalog/deregister?cas=${checkIdx + 1}`, { Node: 'n1', CheckID: 'disk' }, false);
    await write(`/v1/catalog/deregister?cas=${serviceIndex('n1', 'web-2') + 1}`, { Node: 'n1', ServiceID: 'web-2' }, false);
    await write('/v1/catalog/deregister?cas=0', { Node: 'n1' }, false);
    await write('/v1/catalog/deregister?cas=0', { Node: 'nope' }, false);
    expect(await h.storeRevision()).toBe(before);

    await write(`/v1/catalog/deregister?cas=${checkIdx}`, { Node: 'n1', CheckID: 'disk' }, true);
    expect(h.catalog.check('n1', 'disk')).toBeUndefined();
    await write(`/v1/catalog/deregister?cas=${serviceIndex('n1', 'web-2')}`, { Node: 'n1', ServiceID: 'web-2' }, true);
    expect(h.catalog.serviceRecord('n1', 'web-2')).toBeUndefined();
    await write(`/v1/catalog/deregister?cas=${h.catalog.nodeRecord('n1')!.modifyIndex}`, { Node: 'n1' }, true);
    expect(h.catalog.nodeRecord('n1')).toBeUndefined();
  });

  it.each([
    ['missing Node', '/v1/catalog/deregister', { ServiceID: 'web-1' }, 400, 'BEACON_ERR_VALIDATION', 'Node', /^Missing node name/],
    ['a bad cas', '/v1/catalog/deregister?cas=x', { Node: 'n1' }, 400, 'BEACON_ERR_VALIDATION', 'cas', /^Invalid cas: "x"/],
    [
      'ServiceID not a string',
      '/v1/catalog/deregister',
      { Node: 'n1', ServiceID: 5 },
      400,
      'BEACON_ERR_VALIDATION',
      'ServiceID',
      /^Invalid ServiceID: must be string/,
    ],
    ['another Datacenter', '/v1/catalog/deregister', { Node: 'n1', Datacenter: 'dc2' }, 500, 'BEACON_ERR_NO_PATH_TO_DC', undefined, /^No path to datacenter/],
  ] as const)('%s: refused, nothing removed', async (_label, url, payload, status, code, field, message) => {
    await expectRefused(h, { method: 'PUT', url, payload }, { status, code, message, ...(field ? { field } : {}) });
    expect(h.catalog.nodeRecord('n1')).toBeDefined();
    expect(h.catalog.serviceRecord('n1', 'web-1')).toBeDefined();
  });
});

describe('catalog reads', () => {
  beforeEach(async () => {
    await write('/v1/catalog/register', { ...NODE, NodeMeta: { rack: 'r1' }, Service: { Service: 'web', ID: 'web-1', Tags: ['blue'], Port: 80 } }, true);
    await write(
      '/v1/catalog/register',
      { Node: 'n2', Address: '10.0.0.2', NodeMeta: { rack: 'r2' }, Service: { Service: 'web', ID: 'web-2', Tags: ['green'], Port: 81 } },
      true,
    );
    await write('/v1/catalog/register', { Node: 'n2', Address: '10.0.0.2', Service: { Service: 'db', Port: 5432 } }, true);
  });

  it("GET /v1/catalog/services: names with the union of their tags, at the services table's index", async () => {
    const res = await h.app.inject('/v1/catalog/services');
    const body = okJson<Record<string, string[]>>(res);
    expect(Object.keys(body).sort()).toEqual(['db', 'web']);
    expect(body.web.sort()).toEqual(['blue', 'green']);
    expect(consulIndex(res)).toBe(h.catalog.tableIndex('services'));
    expect(Object.keys(okJson<object>(await h.app.inject('/v1/catalog/services?node-meta=rack:r1')))).toEqual(['web']);
  });

  it("GET /v1/catalog/service/:name: instances, by ?tag and ?filter, at the service's index", async () => {
    const res = await h.app.inject('/v1/catalog/service/web');
    const body = okJson<{ Node: string; ServiceID: string; ServicePort: number; NodeMeta: Record<string, string> }[]>(res);
    expect(body.map((e) => [e.Node, e.ServiceID, e.ServicePort]).sort()).toEqual([
      ['n1', 'web-1', 80],
      ['n2', 'web-2', 81],
    ]);
    expect(consulIndex(res)).toBe(h.catalog.serviceIndex('web'));
    expect(okJson<{ ServiceID: string }[]>(await h.app.inject('/v1/catalog/service/web?tag=green')).map((e) => e.ServiceID)).toEqual(['web-2']);
    const filtered = okJson<{ ServiceID: string }[]>(await h.app.inject(`/v1/catalog/service/web?filter=${encodeURIComponent('NodeMeta.rack == "r1"')}`));
    expect(filtered.map((e) => e.ServiceID)).toEqual(['web-1']);
    expect(okJson(await h.app.inject('/v1/catalog/service/nope'))).toEqual([]);
  });

  it('GET /v1/catalog/nodes and /v1/catalog/node/:node', async () => {
    const nodes = okJson<{ Node: string }[]>(await h.app.inject('/v1/catalog/nodes'));
    expect(nodes.map((n) => n.Node)).toEqual([TEST_NODE, 'n1', 'n2']);
    const res = await h.app.inject('/v1/catalog/node/n2');
    const one = okJson<{ Node: { Node: string; Address: string }; Services: Record<string, { Port: number }> }>(res);
    expect(one.Node).toMatchObject({ Node: 'n2', Address: '10.0.0.2' });
    expect(Object.keys(one.Services).sort()).toEqual(['db', 'web-2']);
    expect(consulIndex(res)).toBe(h.catalog.nodeIndex('n2'));
    const missing = await h.app.inject('/v1/catalog/node/nope');
    expect(okJson(missing)).toBeNull();
  });

  it('GET /v1/catalog/datacenters', async () => {
    expect(okJson(await h.app.inject('/v1/catalog/datacenters'))).toEqual(['dc1']);
  });

  it.each([
    [
      'a bad ?filter',
      `/v1/catalog/service/web?filter=${encodeURIComponent('ServiceID ==')}`,
      400,
      'BEACON_ERR_VALIDATION',
      'filter',
      /^Failed to create boolean expression evaluator/,
    ],
    [
      'a ?filter on an unknown field',
      `/v1/catalog/nodes?filter=${encodeURIComponent('Rack == "r1"')}`,
      400,
      'BEACON_ERR_VALIDATION',
      'filter',
      /^Failed to create boolean expression evaluator/,
    ],
    ['a bad ?node-meta', '/v1/catalog/nodes?node-meta=rack', 400, 'BEACON_ERR_VALIDATION', 'node-meta', /must be key:value/],
    ['a bad ?index', '/v1/catalog/services?index=abc', 400, 'BEACON_ERR_VALIDATION', 'index', /^Invalid index/],
    ['?stale with ?consistent', '/v1/catalog/nodes?stale&consistent', 400, 'BEACON_ERR_VALIDATION', 'consistent', /conflicting semantics/],
    ['another datacenter', '/v1/catalog/service/web?dc=dc2', 500, 'BEACON_ERR_NO_PATH_TO_DC', undefined, /^No path to datacenter/],
    ['no service name', '/v1/catalog/service/', 400, 'BEACON_ERR_VALIDATION', 'name', /^Missing service name/],
    ['no node name', '/v1/catalog/node/', 400, 'BEACON_ERR_VALIDATION', 'node', /^Missing node name/],
  ] as const)('%s: refused', async (_label, url, status, code, field, message) => {
    await expectRefused(h, { method: 'GET', url }, { status, code, message, ...(field ? { field } : {}) });
  });

  it('a blocking read returns once its data changes, with the new index', async () => {
    const idx = h.catalog.serviceIndex('web');
    const pending = h.app.inject(`/v1/catalog/service/web?index=${idx}&wait=5m`);
    await write('/v1/catalog/register', { Node: 'n3', Address: '10.0.0.3', Service: { Service: 'web', ID: 'web-3' } }, true);
    const res = await pending;
    expect(consulIndex(res)).toBeGreaterThan(idx);
    expect(
      okJson<{ ServiceID: string }[]>(res)
        .map((e) => e.ServiceID)
        .sort(),
    ).toEqual(['web-1', 'web-2', 'web-3']);
  });
});
