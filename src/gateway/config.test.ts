import { describe, expect, it } from 'vitest';
import { buildGatewayConfig, GATEWAY_DEFAULTS, serviceTarget } from './config.js';

describe('gateway config', () => {
  it('pins the defaults', () => {
    expect(buildGatewayConfig({ listen: '127.0.0.1:8080' }, 'gateway')).toEqual({
      listen: { host: '127.0.0.1', port: 8080 },
      servers: ['http://127.0.0.1:8500'],
      routesFile: undefined,
      admin: undefined,
      accessLog: false,
      strategy: 'p2c-ewma',
      retries: 2,
      tryTimeoutMs: 10_000,
      timeoutMs: 30_000,
      shutdownGraceMs: 10_000,
      domain: 'consul',
      datacenter: undefined,
      upstreams: [],
      token: undefined,
      tls: undefined,
      failover: [],
    });
    expect(buildGatewayConfig({ listen: '127.0.0.1:0', failover: ['dc2,dc3', 'dc2'] }, 'gateway').failover).toEqual(['dc2', 'dc3']);
    expect(() => buildGatewayConfig({ listen: '127.0.0.1:0', failover: ['dc 2'] }, 'gateway')).toThrow(/--failover.*"dc 2" is not a datacenter name/);
    expect(GATEWAY_DEFAULTS).toMatchObject({ strategy: 'p2c-ewma', retries: 2 });
    expect(Object.isFrozen(buildGatewayConfig({ listen: '127.0.0.1:0' }, 'gateway'))).toBe(true);
  });

  it('reads every flag', () => {
    const c = buildGatewayConfig(
      {
        listen: '0.0.0.0:80',
        server: ['10.0.0.1:8500', 'https://b.example:8501'],
        routes: 'r.json',
        admin: '127.0.0.1:9000',
        accessLog: true,
        strategy: 'least-in-flight',
        retries: '0',
        tryTimeout: '250ms',
        timeout: '2s',
        shutdownGrace: '1s',
        domain: 'Beacon',
        datacenter: 'eu1',
        token: 'secret',
      },
      'gateway',
    );
    expect(c).toMatchObject({
      servers: ['http://10.0.0.1:8500', 'https://b.example:8501'],
      admin: { host: '127.0.0.1', port: 9000 },
      strategy: 'least-in-flight',
      retries: 0,
      tryTimeoutMs: 250,
      timeoutMs: 2000,
      shutdownGraceMs: 1000,
      domain: 'beacon',
      datacenter: 'eu1',
      token: 'secret',
    });
  });

  it('reads sidecar upstreams in both name forms', () => {
    const c = buildGatewayConfig({ upstream: ['payments=127.0.0.1:9191', 'v2.db.service.dc2.consul=127.0.0.1:0'] }, 'sidecar');
    expect(c.upstreams).toEqual([
      { name: 'payments', service: 'payments', tag: undefined, dc: undefined, listen: { host: '127.0.0.1', port: 9191 } },
      { name: 'v2.db.service.dc2.consul', service: 'db', tag: 'v2', dc: 'dc2', listen: { host: '127.0.0.1', port: 0 } },
    ]);
  });

  it.each([
    [{}, 'gateway', 'invalid --listen: required'],
    [{ listen: 'nope' }, 'gateway', 'invalid --listen: "nope" is not HOST:PORT'],
    [{ listen: '127.0.0.1:70000' }, 'gateway', 'invalid --listen'],
    [{ listen: '127.0.0.1:1', server: ['ftp://x'] }, 'gateway', 'invalid --server: "ftp://x": only http:// and https://'],
    [{ listen: '127.0.0.1:1', server: ['http://x:1/v1'] }, 'gateway', 'invalid --server: "http://x:1/v1": give only scheme, host and port'],
    [{ listen: '127.0.0.1:1', strategy: 'fastest' }, 'gateway', 'invalid --strategy: "fastest" is not one of'],
    [{ listen: '127.0.0.1:1', retries: '9' }, 'gateway', 'invalid --retries: "9" is not an integer from 0 to 5'],
    [{ listen: '127.0.0.1:1', retries: '-1' }, 'gateway', 'invalid --retries'],
    [{ listen: '127.0.0.1:1', tryTimeout: 'soon' }, 'gateway', 'invalid --try-timeout: "soon" is not a duration'],
    [{ listen: '127.0.0.1:1', tryTimeout: '1ms' }, 'gateway', 'invalid --try-timeout: "1ms" is out of range'],
    [{ listen: '127.0.0.1:1', tryTimeout: '20s', timeout: '5s' }, 'gateway', 'invalid --timeout: must be at least --try-timeout'],
    [{ listen: '127.0.0.1:1', admin: ':x' }, 'gateway', 'invalid --admin'],
    [{ listen: '127.0.0.1:1', datacenter: 'a b' }, 'gateway', 'invalid --datacenter'],
    [{ listen: '127.0.0.1:1', upstream: ['a=127.0.0.1:1'] }, 'gateway', 'invalid --upstream: is a flag of beacon sidecar'],
    [{}, 'sidecar', 'invalid --upstream: at least one is required'],
    [{ upstream: ['payments'] }, 'sidecar', 'invalid --upstream: "payments" is not NAME=HOST:PORT'],
    [{ upstream: ['pay..x=127.0.0.1:1'] }, 'sidecar', 'invalid --upstream: "pay..x" is not a service name'],
    [{ upstream: ['a=127.0.0.1:5000', 'b=127.0.0.1:5000'] }, 'sidecar', 'invalid --upstream: two upstreams listen on 127.0.0.1:5000'],
    [{ upstream: ['a=127.0.0.1:5000'], routes: 'x.json' }, 'sidecar', 'invalid --routes: is a flag of beacon gateway'],
  ] as const)('refuses %j (%s) naming the flag', (raw, mode, message) => {
    expect(() => buildGatewayConfig(raw, mode)).toThrow(message);
  });
});

describe('serviceTarget', () => {
  it.each([
    ['web.service.consul', { service: 'web', tag: undefined, dc: undefined }],
    ['WEB.Service.CONSUL:8080', { service: 'web', tag: undefined, dc: undefined }],
    ['web.service.consul.', { service: 'web', tag: undefined, dc: undefined }],
    ['web.service.dc2.consul', { service: 'web', tag: undefined, dc: 'dc2' }],
    ['v2.web.service.consul', { service: 'web', tag: 'v2', dc: undefined }],
    ['v2.web.service.dc2.consul', { service: 'web', tag: 'v2', dc: 'dc2' }],
  ])('reads %s', (host, want) => {
    expect(serviceTarget(host, 'consul')).toEqual(want);
  });

  it.each([
    'example.com',
    'web',
    'web.service',
    'web.service.other',
    'a.b.c.service.consul',
    'service.consul',
    'web.service.a.b.consul',
    '127.0.0.1',
    'we b.service.consul',
  ])('does not take %s', (host) => {
    expect(serviceTarget(host, 'consul')).toBeUndefined();
  });

  it('takes a bare name only when asked (sidecar upstreams)', () => {
    expect(serviceTarget('payments', 'consul', true)).toEqual({ service: 'payments', tag: undefined, dc: undefined });
  });
});
