/**
 * TTL checks, heartbeats that write nothing, DeregisterCriticalServiceAfter, maintenance mode,
 * the agent's local health endpoints, and a blocking query woken by a status change — all
 * through a real `beacon server` process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { call, checkOf, passingIds, put, putOk, storeRevision, until, untilStatus, type HealthEntryJson } from './health-helpers.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
});
afterAll(async () => {
  await server?.stop();
});

describe('TTL checks', () => {
  it('1,000 heartbeats after the first move no store revision', async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'beat', ID: 'beat-1', Check: { TTL: '30s' } });
    await putOk(server, '/v1/agent/check/pass/service:beat-1');
    expect((await checkOf(server, 'service:beat-1'))?.Status).toBe('passing');
    const before = await storeRevision(server);
    for (let i = 0; i < 1000; i++) await putOk(server, '/v1/agent/check/pass/service:beat-1');
    expect(await storeRevision(server)).toBe(before);
    // A status change is written.
    await putOk(server, '/v1/agent/check/warn/service:beat-1?note=busy');
    expect(await storeRevision(server)).toBe(before + 1);
    expect(await checkOf(server, 'service:beat-1')).toMatchObject({ Status: 'warning', Output: 'busy' });
  });

  it('a TTL left to expire turns critical saying "TTL expired", and a heartbeat brings it back', async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'exp', ID: 'exp-1', Check: { TTL: '1s' } });
    await putOk(server, '/v1/agent/check/pass/service:exp-1?note=alive');
    expect(await passingIds(server, 'exp')).toEqual(['exp-1']);
    const c = await untilStatus(server, 'service:exp-1', 'critical', 4000);
    expect(c.Output).toBe('TTL expired (last output before timeout follows): alive');
    expect(await passingIds(server, 'exp')).toEqual([]);
    await putOk(server, '/v1/agent/check/pass/service:exp-1');
    expect(await passingIds(server, 'exp')).toEqual(['exp-1']);
  });

  it("/v1/agent/check/update takes Status and Output, and refuses a bad status with Consul's text", async () => {
    await putOk(server, '/v1/agent/check/register', { Name: 'upd', TTL: '30s' });
    await putOk(server, '/v1/agent/check/update/upd', { Status: 'warning', Output: 'half full' });
    expect(await checkOf(server, 'upd')).toMatchObject({ Status: 'warning', Output: 'half full' });
    const r = await put(server, '/v1/agent/check/update/upd', { Status: 'great' });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/^Invalid check status: 'great'/);
    const unknown = await put(server, '/v1/agent/check/update/nope', { Status: 'passing' });
    expect([unknown.status, unknown.text]).toEqual([500, 'CheckID "nope" does not have associated TTL']);
    // A node-level check applies to every service of the node: remove it before the next tests.
    await putOk(server, '/v1/agent/check/deregister/upd');
  });
});

describe('check IDs and re-registration', () => {
  it("IDs with slashes reach pass/update/deregister and maintenance unescaped, as Consul's Go client sends them", async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'slashy', ID: 'slashy/1', Check: { TTL: '30s' } });
    await putOk(server, '/v1/agent/check/pass/service:slashy/1?note=raw');
    expect(await checkOf(server, 'service:slashy/1')).toMatchObject({ Status: 'passing', Output: 'raw' });
    await putOk(server, '/v1/agent/check/update/service:slashy%2F1', { Status: 'warning', Output: 'escaped' });
    expect(await checkOf(server, 'service:slashy/1')).toMatchObject({ Status: 'warning', Output: 'escaped' });
    await putOk(server, '/v1/agent/service/maintenance/slashy/1?enable=true');
    expect((await checkOf(server, '_service_maintenance:slashy/1'))?.ServiceID).toBe('slashy/1');
    const h = await call(server, 'GET', '/v1/agent/health/service/id/slashy/1?format=text');
    expect([h.status, h.text]).toEqual([503, 'maintenance']);
    await putOk(server, '/v1/agent/service/maintenance/slashy/1?enable=false');
    await putOk(server, '/v1/agent/check/register', { Name: 'node/disk', TTL: '30s' });
    await putOk(server, '/v1/agent/check/deregister/node/disk');
    expect(await checkOf(server, 'node/disk')).toBeUndefined();
    const svc = await call(server, 'GET', '/v1/agent/service/slashy/1');
    expect([svc.status, (JSON.parse(svc.text) as { ID: string }).ID]).toEqual([200, 'slashy/1']);
    await putOk(server, '/v1/agent/service/deregister/slashy/1');
    expect((await call(server, 'GET', '/v1/agent/service/slashy/1')).status).toBe(404);
    await putOk(server, '/v1/agent/service/register', { Name: 'slashy', ID: 'slashy/2' });
    await putOk(server, '/v1/agent/service/deregister/slashy%2F2');
    expect((await call(server, 'GET', '/v1/agent/service/slashy%2F2')).status).toBe(404);
  });

  it('a missing ID in the path answers 400 naming it', async () => {
    for (const path of [
      '/v1/agent/check/pass/',
      '/v1/agent/check/update/',
      '/v1/agent/check/deregister/',
      '/v1/agent/service/maintenance/?enable=true',
      '/v1/agent/service/deregister/',
    ]) {
      const r = await put(server, path, path.includes('update') ? { Status: 'passing' } : undefined);
      expect([r.status, r.headers.get('x-beacon-error')], path).toEqual([400, 'BEACON_ERR_VALIDATION']);
      expect(r.text, path).toMatch(/^Missing (check|service) ID in the path/);
    }
  });

  it("re-registering keeps the current status and output, as Consul's agent does", async () => {
    const svc = { Name: 'again', ID: 'again-1', Checks: [{ TTL: '30s', Status: 'passing' }, { TTL: '30s' }] };
    await putOk(server, '/v1/agent/service/register', svc);
    await putOk(server, '/v1/agent/check/warn/service:again-1:1?note=slow');
    await putOk(server, '/v1/agent/check/pass/service:again-1:2?note=fine');
    await putOk(server, '/v1/agent/service/register', { ...svc, Tags: ['v2'] });
    expect(await checkOf(server, 'service:again-1:1')).toMatchObject({ Status: 'warning', Output: 'slow' });
    expect(await checkOf(server, 'service:again-1:2')).toMatchObject({ Status: 'passing', Output: 'fine' });
    await putOk(server, '/v1/agent/check/register', { Name: 'again-node', TTL: '30s', Status: 'passing', ServiceID: 'again-1' });
    await putOk(server, '/v1/agent/check/fail/again-node?note=down');
    await putOk(server, '/v1/agent/check/register', { Name: 'again-node', TTL: '30s', Status: 'passing', ServiceID: 'again-1', Notes: 'new notes' });
    expect(await checkOf(server, 'again-node')).toMatchObject({ Status: 'critical', Output: 'down', Notes: 'new notes' });
    await putOk(server, '/v1/agent/service/deregister/again-1');
  });
});

describe('bad input on the check routes', () => {
  const cases: [string, string, unknown, RegExp, string][] = [
    [
      'register',
      '/v1/agent/check/register',
      { Name: 'b', HTTP: 'http://127.0.0.1:1/', Interval: '5s', Method: 'GE T' },
      /^Invalid check: Method must be an HTTP method/,
      'Method',
    ],
    ['register', '/v1/agent/check/register', { Name: 'b', HTTP: 'not a url', Interval: '5s' }, /^Invalid check: HTTP must be an absolute/, 'HTTP'],
    ['register', '/v1/agent/check/register', { Name: 'b', TCP: 'nohost', Interval: '5s' }, /^Invalid check: TCP must be HOST:PORT/, 'TCP'],
    ['register', '/v1/agent/check/register', { Name: 'b', GRPC: 'nohost', Interval: '5s' }, /^Invalid check: GRPC must be HOST:PORT/, 'GRPC'],
    [
      'register',
      '/v1/agent/check/register',
      { Name: 'b', TCP: '127.0.0.1:70000', Interval: '5s' },
      /^Invalid check: TCP must be HOST:PORT with a port from 1 to 65535/,
      'TCP',
    ],
    ['register', '/v1/agent/check/register', { Name: 'b', TCP: '127.0.0.1:80/x', Interval: '5s' }, /^Invalid check: TCP must be HOST:PORT/, 'TCP'],
    [
      'register',
      '/v1/agent/check/register',
      { Name: 'b', GRPC: '127.0.0.1:0/svc', Interval: '5s' },
      /^Invalid check: GRPC must be HOST:PORT\[\/service\]/,
      'GRPC',
    ],
    ['register', '/v1/agent/check/register', { Name: 'b', TCP: '127.0.0.1:1' }, /^Invalid check: Interval must be > 0/, 'Interval'],
    ['register', '/v1/agent/check/register', { Name: 'b', TTL: 'soon' }, /^Invalid TTL: "soon" is not a duration/, 'TTL'],
    ['register', '/v1/agent/check/register', { Name: 'b', TTL: '0s' }, /^Invalid check: TTL must be > 0/, 'TTL'],
    ['register', '/v1/agent/check/register', { Name: 'b', HTTP: 'http://127.0.0.1:1/', Interval: '5s', Timeout: 'x' }, /^Invalid Timeout/, 'Timeout'],
    ['register', '/v1/agent/check/register', { Name: 'b', TTL: '5s', FailuresBeforeCritical: -1 }, /FailuresBeforeCritical/, 'FailuresBeforeCritical'],
    ['register', '/v1/agent/check/register', { Name: 'b', TTL: '5s', Header: { a: 'b' } }, /Header/, 'Header.a'],
    [
      'service',
      '/v1/agent/service/register',
      { Name: 'b', Checks: [{ TTL: '5s' }, { HTTP: 'http://127.0.0.1:1/', Interval: '5s', Method: 'a b' }] },
      /^Invalid check: Method/,
      'Checks[1].Method',
    ],
    ['update', '/v1/agent/check/update/x', { Status: 'passing', Output: 5 }, /Output/, 'Output'],
    ['update', '/v1/agent/check/update/x', '{', /^Request decode failed/, 'body'],
  ];
  it.each(cases)('%s %s %j answers 400 naming the field, and registers nothing', async (_kind, path, body, text, field) => {
    const r = await put(server, path, body);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(text);
    expect(r.headers.get('x-beacon-error')).toMatch(/^BEACON_ERR_/);
    expect(r.text).toContain(field);
    expect(await checkOf(server, 'b')).toBeUndefined();
    expect((await call(server, 'GET', '/v1/agent/services')).json<Record<string, unknown>>().b).toBeUndefined();
  });
});

describe('propagation', () => {
  it('a blocking query on /v1/health/service/:name is woken by a status change', async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'watched', ID: 'w-1', Check: { TTL: '30s', Status: 'passing' } });
    const first = await call(server, 'GET', '/v1/health/service/watched');
    const index = first.headers.get('x-consul-index');
    // The query waits 60 s: an answer inside the generous bound below came from the change
    // waking it, not from the wait running out.
    const blocked = call(server, 'GET', `/v1/health/service/watched?index=${index}&wait=60s`);
    await new Promise((r) => setTimeout(r, 200));
    await putOk(server, '/v1/agent/check/fail/service:w-1?note=down');
    let bound: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      blocked,
      new Promise<undefined>((resolve) => {
        bound = setTimeout(() => resolve(undefined), 20_000);
      }),
    ]).finally(() => clearTimeout(bound));
    expect(r, 'the blocking query was not woken by the change').toBeDefined();
    expect(r!.json<HealthEntryJson[]>()[0].Checks.find((c) => c.CheckID === 'service:w-1')?.Status).toBe('critical');
    expect(Number(r!.headers.get('x-consul-index'))).toBeGreaterThan(Number(index));
  });
});

describe('DeregisterCriticalServiceAfter', () => {
  it('reaps a service that stayed critical that long, and keeps a healthy sibling and one whose time has not come', async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'reap', ID: 'reap-1', Check: { TTL: '30s', DeregisterCriticalServiceAfter: '1s' } });
    // Passing from the start, so a slow machine cannot let it sit critical for 1 s first.
    await putOk(server, '/v1/agent/service/register', {
      Name: 'reap',
      ID: 'reap-2',
      Check: { TTL: '30s', DeregisterCriticalServiceAfter: '1s', Status: 'passing' },
    });
    await putOk(server, '/v1/agent/service/register', { Name: 'reap', ID: 'reap-3', Check: { TTL: '30s', DeregisterCriticalServiceAfter: '10m' } });
    // reap-1 and reap-3 are critical from the start: only reap-1's time runs out.
    await until(
      'reap-1 deregistered',
      async () => {
        const ids = (await call(server, 'GET', '/v1/health/service/reap')).json<HealthEntryJson[]>().map((e) => e.Service.ID);
        return !ids.includes('reap-1');
      },
      20_000,
    );
    const ids = (await call(server, 'GET', '/v1/health/service/reap'))
      .json<HealthEntryJson[]>()
      .map((e) => e.Service.ID)
      .sort();
    expect(ids).toEqual(['reap-2', 'reap-3']);
    expect(await checkOf(server, 'service:reap-1')).toBeUndefined();
    expect((await checkOf(server, 'service:reap-3'))?.Status).toBe('critical');
  });
});

describe('maintenance mode', () => {
  beforeAll(async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'maint', ID: 'm-1', Check: { TTL: '30s', Status: 'passing' } });
    await putOk(server, '/v1/agent/service/register', { Name: 'maint', ID: 'm-2', Check: { TTL: '30s', Status: 'passing' } });
  });

  it('service maintenance takes one instance out of passing results and back', async () => {
    expect(await passingIds(server, 'maint')).toEqual(['m-1', 'm-2']);
    await putOk(server, '/v1/agent/service/maintenance/m-1?enable=true&reason=deploying');
    const c = await checkOf(server, '_service_maintenance:m-1');
    expect(c).toMatchObject({ Status: 'critical', Name: 'Service Maintenance Mode', Notes: 'deploying', ServiceID: 'm-1' });
    expect(await passingIds(server, 'maint')).toEqual(['m-2']);
    const h = await call(server, 'GET', '/v1/agent/health/service/id/m-1?format=text');
    expect([h.status, h.text]).toEqual([503, 'maintenance']);
    await putOk(server, '/v1/agent/service/maintenance/m-1?enable=false');
    expect(await checkOf(server, '_service_maintenance:m-1')).toBeUndefined();
    expect(await passingIds(server, 'maint')).toEqual(['m-1', 'm-2']);
  });

  it("node maintenance takes every instance out, with Consul's default notes", async () => {
    await putOk(server, '/v1/agent/maintenance?enable=true');
    expect(await checkOf(server, '_node_maintenance')).toMatchObject({
      Status: 'critical',
      Name: 'Node Maintenance Mode',
      Notes: 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.',
    });
    expect(await passingIds(server, 'maint')).toEqual([]);
    await putOk(server, '/v1/agent/maintenance?enable=false');
    expect(await passingIds(server, 'maint')).toEqual(['m-1', 'm-2']);
  });

  it("answers Consul's 400s and 404", async () => {
    const missing = await put(server, '/v1/agent/service/maintenance/m-1');
    expect([missing.status, missing.text]).toEqual([400, 'Missing value for enable']);
    const bad = await put(server, '/v1/agent/service/maintenance/m-1?enable=maybe');
    expect([bad.status, bad.text]).toEqual([400, 'Invalid value for enable: "maybe"']);
    const nodeBad = await put(server, '/v1/agent/maintenance?enable=');
    expect([nodeBad.status, nodeBad.text]).toEqual([400, 'Invalid value for enable: ""']);
    const unknown = await put(server, '/v1/agent/service/maintenance/ghost?enable=true');
    expect([unknown.status, unknown.text]).toEqual([404, 'No service registered with ID "ghost"']);
  });
});

describe('agent health endpoints', () => {
  it('answer 200/429/503 with JSON or text, by ID and by name', async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'ah', ID: 'ah-1', Check: { TTL: '30s', Status: 'passing' } });
    await putOk(server, '/v1/agent/service/register', { Name: 'ah', ID: 'ah-2', Check: { TTL: '30s', Status: 'passing' } });
    const ok = await call(server, 'GET', '/v1/agent/health/service/id/ah-1');
    expect(ok.status).toBe(200);
    const body = ok.json<{ AggregatedStatus: string; Service: { ID: string }; Checks: { CheckID: string }[] }>();
    expect(body.AggregatedStatus).toBe('passing');
    expect(body.Service.ID).toBe('ah-1');
    expect(body.Checks.map((c) => c.CheckID).sort()).toEqual(['serfHealth', 'service:ah-1']);

    await putOk(server, '/v1/agent/check/warn/service:ah-2');
    const byName = await call(server, 'GET', '/v1/agent/health/service/name/ah');
    expect(byName.status).toBe(429);
    expect(
      byName
        .json<{ AggregatedStatus: string }[]>()
        .map((x) => x.AggregatedStatus)
        .sort(),
    ).toEqual(['passing', 'warning']);
    await putOk(server, '/v1/agent/check/fail/service:ah-1');
    const text = await call(server, 'GET', '/v1/agent/health/service/name/ah', undefined, { accept: 'text/plain' });
    expect([text.status, text.text]).toEqual([503, 'critical']);

    const noId = await call(server, 'GET', '/v1/agent/health/service/id/nope');
    expect(noId.status).toBe(404);
    expect(noId.json()).toEqual({ AggregatedStatus: 'critical', Checks: null, Service: null });
    const noName = await call(server, 'GET', '/v1/agent/health/service/name/nope?format=text');
    expect([noName.status, noName.text]).toEqual([404, 'ServiceName nope Not Found']);
  });
});
