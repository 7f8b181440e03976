/**
 * Active checks against real targets, through a real `beacon server` process: an HTTP server
 * flipping between 200, 429 and 500 and one that hangs, a closed TCP port and a live one, a
 * real gRPC health server, and scripts exiting 0/1/2 (script checks enabled by the flag).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import {
  closedPort,
  grpcTarget,
  httpTarget,
  scriptArgs,
  tcpTarget,
  TEST_CERT_FILE,
  type GrpcTarget,
  type HttpTarget,
} from '../../src/health/runners/targets.test-suite.js';
import { call, checkOf, passingIds, putOk, storeRevision, until, untilStatus, type HealthCheckJson } from './health-helpers.js';

let server: RunningServer;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off', args: ['--enable-script-checks'] });
});
afterAll(async () => {
  for (const c of closers) await c();
  await server?.stop();
});

describe('HTTP checks', () => {
  let t: HttpTarget;
  beforeAll(async () => {
    t = await httpTarget(200, 'up');
    closers.push(() => t.close());
    await putOk(server, '/v1/agent/service/register', {
      Name: 'web',
      ID: 'web-1',
      Port: 80,
      Check: { HTTP: t.url, Method: 'POST', Header: { 'X-Probe': ['beacon'] }, Body: 'ping', Interval: '1s', Timeout: '1s' },
    });
  });

  it('turns passing, sending Method, Header and Body', async () => {
    const c = await untilStatus(server, 'service:web-1', 'passing');
    expect(c.Output).toBe(`HTTP POST ${t.url}: 200 OK Output: up`);
    const req = t.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.headers['x-probe']).toBe('beacon');
    expect(req.body).toBe('ping');
    expect(await passingIds(server, 'web')).toEqual(['web-1']);
  });

  it('follows the target: 429 warning, 500 critical, 200 passing again', async () => {
    t.mode = 429;
    await untilStatus(server, 'service:web-1', 'warning');
    expect(await passingIds(server, 'web')).toEqual([]);
    t.mode = 500;
    const c = await untilStatus(server, 'service:web-1', 'critical');
    expect(c.Output).toContain('500 Internal Server Error');
    // Critical instances stay registered.
    expect((await call(server, 'GET', '/v1/health/service/web')).json<unknown[]>()).toHaveLength(1);
    t.mode = 200;
    await untilStatus(server, 'service:web-1', 'passing');
  });

  it('the default FailuresBeforeCritical (2): the check turns critical on its second failure', async () => {
    const f = await httpTarget(200);
    closers.push(() => f.close());
    await putOk(server, '/v1/agent/check/register', { Name: 'flaky', HTTP: f.url, Interval: '2s', Timeout: '1s' });
    await untilStatus(server, 'flaky', 'passing', 20_000);
    f.mode = 500;
    const c = await untilStatus(server, 'flaky', 'critical', 20_000);
    expect(c.Output).toContain('500 Internal Server Error');
    expect(f.requests.filter((r) => r.mode === 500).length).toBeGreaterThanOrEqual(2);
    // That the second try follows the first failure at once, not an interval later, is a matter
    // of the schedule: src/health/active-check.test.ts asserts it on the fake clock.
    await putOk(server, '/v1/agent/check/deregister/flaky');
  });

  it('SuccessBeforePassing: stays critical until that many successes in a row', async () => {
    const g = await httpTarget(200);
    closers.push(() => g.close());
    await putOk(server, '/v1/agent/check/register', { Name: 'careful', HTTP: g.url, Interval: '1s', Timeout: '1s', SuccessBeforePassing: 3 });
    await untilStatus(server, 'careful', 'passing', 8000);
    expect(g.requests.length).toBeGreaterThanOrEqual(3);
    await putOk(server, '/v1/agent/check/deregister/careful');
  });

  it('an Interval under 1 s is raised to 1 s, as Consul does', async () => {
    const h = await httpTarget(200);
    const ref = await httpTarget(200);
    closers.push(
      () => h.close(),
      () => ref.close(),
    );
    await putOk(server, '/v1/agent/check/register', { Name: 'eager', HTTP: h.url, Interval: '50ms' });
    await putOk(server, '/v1/agent/check/register', { Name: 'steady', HTTP: ref.url, Interval: '1s' });
    expect((await checkOf(server, 'eager'))?.Interval).toBe('1s');
    await untilStatus(server, 'eager', 'passing', 20_000);
    await untilStatus(server, 'steady', 'passing', 20_000);
    // Side by side over the same stretch (no clock): while the 1 s check runs three more times,
    // the raised one runs about as often; at 50 ms it would run some sixty times.
    const first = h.requests.length;
    const refFirst = ref.requests.length;
    await until('three more runs of the 1 s check', () => Promise.resolve(ref.requests.length >= refFirst + 3), 20_000);
    expect(h.requests.length - first).toBeLessThanOrEqual(ref.requests.length - refFirst + 1);
    for (const id of ['eager', 'steady']) await putOk(server, `/v1/agent/check/deregister/${id}`);
  });

  it('a target that never answers is critical after the timeout', async () => {
    const hang = await httpTarget('hang');
    closers.push(() => hang.close());
    await putOk(server, '/v1/agent/check/register', { Name: 'hangs', HTTP: hang.url, Interval: '1s', Timeout: '300ms', Status: 'passing' });
    const c = await untilStatus(server, 'hangs', 'critical', 20_000);
    expect(c.Output).toContain('timed out after 300 ms');
  });
});

describe('HTTPS and gRPC over TLS (self-signed certificate)', () => {
  it('HTTPS is critical when the certificate does not verify, passing with TLSSkipVerify', async () => {
    const t = await httpTarget(200, 'tls ok', { tls: true });
    closers.push(() => t.close());
    await putOk(server, '/v1/agent/check/register', { Name: 'https-strict', HTTP: t.url, Interval: '1s', Timeout: '1s', Status: 'passing' });
    await putOk(server, '/v1/agent/check/register', { Name: 'https-skip', HTTP: t.url, TLSSkipVerify: true, Interval: '1s', Timeout: '1s' });
    expect((await untilStatus(server, 'https-skip', 'passing')).Output).toBe(`HTTP GET ${t.url}: 200 OK Output: tls ok`);
    expect((await untilStatus(server, 'https-strict', 'critical')).Output).toMatch(/self[- ]signed certificate/i);
    for (const id of ['https-strict', 'https-skip']) await putOk(server, `/v1/agent/check/deregister/${id}`);
  });

  it('GRPCUseTLS with TLSSkipVerify is passing; without TLSSkipVerify critical', async () => {
    const g = await grpcTarget({ tls: true });
    closers.push(() => g.close());
    await putOk(server, '/v1/agent/check/register', { Name: 'grpc-tls', GRPC: g.addr, GRPCUseTLS: true, TLSSkipVerify: true, Interval: '1s', Timeout: '1s' });
    await putOk(server, '/v1/agent/check/register', {
      Name: 'grpc-tls-strict',
      GRPC: g.addr,
      GRPCUseTLS: true,
      Interval: '1s',
      Timeout: '1s',
      Status: 'passing',
    });
    expect((await untilStatus(server, 'grpc-tls', 'passing')).Output).toBe(`gRPC check ${g.addr}: success`);
    expect((await untilStatus(server, 'grpc-tls-strict', 'critical')).Output).toContain('UNAVAILABLE');
    for (const id of ['grpc-tls', 'grpc-tls-strict']) await putOk(server, `/v1/agent/check/deregister/${id}`);
  });
});

describe('TLSServerName, against a server that trusts the test certificate (NODE_EXTRA_CA_CERTS)', () => {
  // The process-wide trust store stands in for Consul's agent CA (ca_file): no check option
  // trusts a certificate, so verification stays on (no TLSSkipVerify) in everything below.
  let trusting: RunningServer;
  beforeAll(async () => {
    // grpc-js trusts only GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when that is set (this machine sets it):
    // unset, gRPC checks trust Node's store, as HTTP checks do.
    trusting = await startServer({ dnsAddr: 'off', env: { NODE_EXTRA_CA_CERTS: TEST_CERT_FILE, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: '' } });
  });
  afterAll(async () => {
    await trusting?.stop();
  });

  it("HTTPS to 127.0.0.1: passing with the certificate's DNS name, critical with another; the name is sent as SNI and shown in Definition", async () => {
    const t = await httpTarget(200, 'sni ok', { tls: true });
    closers.push(() => t.close());
    await putOk(trusting, '/v1/agent/service/register', {
      Name: 'secure',
      ID: 'secure-1',
      Port: 443,
      Checks: [
        { CheckID: 'sni-right', HTTP: t.url, TLSServerName: 'localhost', Interval: '1s', Timeout: '1s' },
        { CheckID: 'sni-wrong', HTTP: t.url, TLSServerName: 'wrong.beacon.test', Interval: '1s', Timeout: '1s', Status: 'passing' },
      ],
    });
    expect((await untilStatus(trusting, 'sni-right', 'passing')).Output).toBe(`HTTP GET ${t.url}: 200 OK Output: sni ok`);
    const wrong = await untilStatus(trusting, 'sni-wrong', 'critical');
    expect(wrong.Output).toMatch(/wrong\.beacon\.test.*altnames|altnames.*wrong\.beacon\.test/i);
    // Only the right name got as far as a request; both were sent as SNI.
    expect(new Set(t.requests.map((q) => q.servername))).toEqual(new Set(['localhost']));
    expect((await checkOf(trusting, 'sni-right'))!.Definition).toMatchObject({ HTTP: t.url, TLSServerName: 'localhost', TLSSkipVerify: false });
    await putOk(trusting, '/v1/agent/service/deregister/secure-1');
  });

  it("gRPC over TLS to 127.0.0.1: passing with the certificate's DNS name, critical with another, and no DEP0123 warning", async () => {
    const g = await grpcTarget({ tls: true });
    closers.push(() => g.close());
    await putOk(trusting, '/v1/agent/check/register', {
      Name: 'grpc-sni',
      GRPC: g.addr,
      GRPCUseTLS: true,
      TLSServerName: 'localhost',
      Interval: '1s',
      Timeout: '1s',
    });
    await putOk(trusting, '/v1/agent/check/register', {
      Name: 'grpc-sni-wrong',
      GRPC: g.addr,
      GRPCUseTLS: true,
      tls_server_name: 'wrong.beacon.test',
      Interval: '1s',
      Timeout: '1s',
      Status: 'passing',
    });
    expect((await untilStatus(trusting, 'grpc-sni', 'passing')).Output).toBe(`gRPC check ${g.addr}: success`);
    const wrong = await untilStatus(trusting, 'grpc-sni-wrong', 'critical');
    expect(wrong.Output).toContain('UNAVAILABLE');
    expect(wrong.Output).toMatch(/altnames/i);
    expect((await checkOf(trusting, 'grpc-sni'))!.Definition).toMatchObject({ GRPC: g.addr, GRPCUseTLS: true, TLSServerName: 'localhost' });
    expect((await checkOf(trusting, 'grpc-sni-wrong'))!.Definition.TLSServerName).toBe('wrong.beacon.test');
    expect(trusting.output()).not.toContain('DEP0123');
    for (const id of ['grpc-sni', 'grpc-sni-wrong']) await putOk(trusting, `/v1/agent/check/deregister/${id}`);
  });

  it("PUT /v1/catalog/register keeps TLSServerName in the check's Definition", async () => {
    await putOk(trusting, '/v1/catalog/register', {
      Node: 'ext-1',
      Address: '10.0.0.9',
      Checks: [
        {
          CheckID: 'ext-https',
          Name: 'ext https',
          Status: 'passing',
          Definition: { HTTP: 'https://10.0.0.9/health', TLSServerName: 'ext.beacon.test', Interval: '10s' },
        },
      ],
    });
    const checks = (await call(trusting, 'GET', '/v1/health/node/ext-1')).json<HealthCheckJson[]>();
    expect(checks.find((c) => c.CheckID === 'ext-https')!.Definition).toMatchObject({ HTTP: 'https://10.0.0.9/health', TLSServerName: 'ext.beacon.test' });
  });

  it('a TLSServerName that is not a string is a 400 naming the field, on every route', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['/v1/agent/check/register', { Name: 'bad', HTTP: 'https://127.0.0.1:1/', Interval: '10s', TLSServerName: 5 }, 'TLSServerName'],
      [
        '/v1/agent/service/register',
        { Name: 'bad', Check: { GRPC: '127.0.0.1:1', GRPCUseTLS: true, Interval: '10s', TLSServerName: ['a'] } },
        'Check.TLSServerName',
      ],
      [
        '/v1/agent/service/register',
        { Name: 'bad', Checks: [{ HTTP: 'https://127.0.0.1:1/', Interval: '10s', TLSServerName: true }] },
        'Checks[0].TLSServerName',
      ],
      [
        '/v1/catalog/register',
        { Node: 'ext-2', Address: '10.0.0.8', Checks: [{ CheckID: 'c', Definition: { HTTP: 'https://10.0.0.8/', Interval: '10s', TLSServerName: 7 } }] },
        'Checks[0].Definition.TLSServerName',
      ],
    ];
    const before = await storeRevision(trusting);
    for (const [path, body, field] of cases) {
      const r = await call(trusting, 'PUT', path, body);
      expect(r.status, path).toBe(400);
      expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_VALIDATION');
      expect(r.text).toContain(field);
    }
    expect(await storeRevision(trusting)).toBe(before);
  });
});

describe('TCP checks', () => {
  it('a closed port is critical, a listening one passing', async () => {
    const live = await tcpTarget();
    closers.push(() => live.close());
    const dead = await closedPort();
    await putOk(server, '/v1/agent/check/register', { Name: 'tcp-live', TCP: live.addr, Interval: '1s', Timeout: '1s' });
    await putOk(server, '/v1/agent/check/register', { Name: 'tcp-dead', TCP: `127.0.0.1:${dead}`, Interval: '1s', Timeout: '1s', Status: 'passing' });
    expect((await untilStatus(server, 'tcp-live', 'passing')).Output).toBe(`TCP connect ${live.addr}: Success`);
    expect((await untilStatus(server, 'tcp-dead', 'critical')).Output).toContain('ECONNREFUSED');
  });
});

describe('gRPC checks', () => {
  let g: GrpcTarget;
  beforeAll(async () => {
    g = await grpcTarget();
    closers.push(() => g.close());
    g.statuses.set('payments.v1', 1);
    await putOk(server, '/v1/agent/service/register', {
      Name: 'payments',
      ID: 'pay-1',
      Port: 9000,
      Check: { GRPC: `${g.addr}/payments.v1`, Interval: '1s', Timeout: '1s' },
    });
  });

  it('SERVING is passing; NOT_SERVING critical; a stopped server critical', async () => {
    expect((await untilStatus(server, 'service:pay-1', 'passing')).Output).toBe(`gRPC check ${g.addr}/payments.v1: success`);
    g.statuses.set('payments.v1', 2);
    expect((await untilStatus(server, 'service:pay-1', 'critical')).Output).toContain('NOT_SERVING');
    g.statuses.set('payments.v1', 1);
    await untilStatus(server, 'service:pay-1', 'passing');
    await g.close();
    expect((await untilStatus(server, 'service:pay-1', 'critical')).Output).toContain('UNAVAILABLE');
  });
});

describe('script checks (server started with --enable-script-checks)', () => {
  it('exit 0 passing, 1 warning, 2 critical, with the output captured', async () => {
    for (const code of [0, 1, 2]) {
      await putOk(server, '/v1/agent/check/register', {
        Name: `script-${code}`,
        Args: scriptArgs(code, `said ${code}`),
        Interval: '1s',
        Timeout: '5s',
        Status: code === 2 ? 'passing' : 'critical',
      });
    }
    expect((await untilStatus(server, 'script-0', 'passing')).Output).toBe('said 0');
    expect((await untilStatus(server, 'script-1', 'warning')).Output).toBe('said 1');
    expect((await untilStatus(server, 'script-2', 'critical')).Output).toBe('said 2');
  });
});

describe('agent check endpoints', () => {
  it("register with a ServiceID attaches to the service; deregister removes; errors keep Consul's text", async () => {
    await putOk(server, '/v1/agent/check/register', { Name: 'extra', ID: 'web-extra', ServiceID: 'web-1', TTL: '30s', Notes: 'n' });
    const c = await checkOf(server, 'web-extra');
    expect(c).toMatchObject({ ServiceID: 'web-1', Type: 'ttl', Status: 'critical', Notes: 'n' });
    const entry = (await call(server, 'GET', '/v1/health/service/web')).json<{ Checks: { CheckID: string }[] }[]>()[0];
    expect(entry.Checks.map((x) => x.CheckID)).toContain('web-extra');
    await putOk(server, '/v1/agent/check/deregister/web-extra');
    expect(await checkOf(server, 'web-extra')).toBeUndefined();

    const noName = await call(server, 'PUT', '/v1/agent/check/register', { TTL: '10s' });
    expect(noName.status).toBe(400);
    expect(noName.text).toMatch(/^Missing check name/);
    const badStatus = await call(server, 'PUT', '/v1/agent/check/register', { Name: 'x', TTL: '10s', Status: 'great' });
    expect(badStatus.status).toBe(400);
    expect(badStatus.text).toMatch(/^Bad check status/);
    const noService = await call(server, 'PUT', '/v1/agent/check/register', { Name: 'x', TTL: '10s', ServiceID: 'ghost' });
    expect([noService.status, noService.text]).toEqual([404, 'ServiceID "ghost" does not exist']);
    const both = await call(server, 'PUT', '/v1/agent/check/register', { Name: 'x', TTL: '10s', Interval: '10s' });
    expect(both.status).toBe(400);
    expect(both.text).toMatch(/^Invalid check: Interval and TTL cannot both be specified/);
  });

  it("pass/warn/fail on a non-TTL check answer 500 with Consul's text", async () => {
    for (const verb of ['pass', 'warn', 'fail']) {
      const r = await call(server, 'PUT', `/v1/agent/check/${verb}/service:web-1`);
      expect(r.status).toBe(500);
      expect(r.text).toBe('CheckID "service:web-1" does not have associated TTL');
      expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_CHECK_NOT_TTL');
    }
  });

  it("lists this node's checks, serfHealth included, with ?filter", async () => {
    const all = (await call(server, 'GET', '/v1/agent/checks')).json<Record<string, { Status: string }>>();
    expect(all.serfHealth?.Status).toBe('passing');
    const filtered = (await call(server, 'GET', `/v1/agent/checks?filter=${encodeURIComponent('Type == "tcp"')}`)).json<Record<string, unknown>>();
    expect(Object.keys(filtered).sort()).toEqual(['tcp-dead', 'tcp-live']);
  });

  it('the status output of a deregistered check is never written back', async () => {
    await putOk(server, '/v1/agent/service/deregister/web-1');
    await until('web gone', async () => (await call(server, 'GET', '/v1/health/service/web')).json<unknown[]>().length === 0);
    expect(await checkOf(server, 'service:web-1')).toBeUndefined();
  });
});

describe('script checks refused without the flag', () => {
  let plain: RunningServer;
  beforeAll(async () => {
    plain = await startServer({ dnsAddr: 'off' });
  });
  afterAll(async () => {
    await plain?.stop();
  });

  it('answers 400 naming --enable-script-checks, and writes nothing', async () => {
    const r1 = await call(plain, 'PUT', '/v1/agent/check/register', { Name: 's', Args: scriptArgs(0), Interval: '1s' });
    const r2 = await call(plain, 'PUT', '/v1/agent/service/register', { Name: 'svc', Check: { Args: scriptArgs(0), Interval: '1s' } });
    for (const r of [r1, r2]) {
      expect(r.status).toBe(400);
      expect(r.text).toContain('--enable-script-checks');
      expect(r.headers.get('x-beacon-error')).toBe('BEACON_ERR_SCRIPT_CHECKS_DISABLED');
    }
    expect(await checkOf(plain, 's')).toBeUndefined();
    expect((await call(plain, 'GET', '/v1/health/service/svc')).json<unknown[]>()).toEqual([]);
  });
});
