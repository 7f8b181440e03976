import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, fromEnv, fromFile, mergeRaw, formatDuration } from './index.js';

describe('config', () => {
  it('pins the defaults (golden)', () => {
    const c = buildConfig({ node: 'n1' });
    expect(c).toEqual({
      http: { host: '127.0.0.1', port: 8500 },
      dataDir: './data',
      datacenter: 'dc1',
      node: 'n1',
      advertiseAddr: '127.0.0.1',
      logLevel: 'info',
      store: 'embedded',
      storePrefix: null,
      sessionTtlSeconds: 10,
      storeTls: null,
      maxBodyBytes: 1048576,
      httpMaxConnsPerClient: 200,
      httpWriteRate: 0,
      tls: null,
      acl: { defaultPolicy: 'allow', dnsToken: null, agentToken: null },
      recover: false,
      dns: {
        addr: { host: '127.0.0.1', port: 8600 },
        domain: 'consul.',
        altDomain: null,
        recursors: [],
        recursorTimeoutMs: 2000,
        onlyPassing: false,
        serviceTtl: { default: 5, overrides: {} },
        nodeTtl: 0,
        aRecordLimit: 0,
        rateLimit: { responsesPerSecond: 0, slip: 2 },
      },
      definitions: { services: [], checks: [] },
      checks: { enableScriptChecks: false, enableLocalScriptChecks: false, failuresBeforeCritical: 2, allowMetadataAddresses: false },
      wan: { join: [], intervalMs: 5000 },
      events: { historyEvents: 10_000, historyAgeMs: 3_600_000, sinkUrl: null, logFile: null },
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.dns)).toBe(true);
  });

  it('limits DNS answers per client prefix by default only when DNS listens off loopback', () => {
    expect(buildConfig({ node: 'n', dnsAddr: '0.0.0.0:8600' }).dns.rateLimit).toEqual({ responsesPerSecond: 100, slip: 2 });
    expect(buildConfig({ node: 'n', dnsAddr: '10.1.2.3:53' }).dns.rateLimit.responsesPerSecond).toBe(100);
    expect(buildConfig({ node: 'n', dnsAddr: '[::1]:8600' }).dns.rateLimit.responsesPerSecond).toBe(0);
    expect(buildConfig({ node: 'n', dnsAddr: 'localhost:8600' }).dns.rateLimit.responsesPerSecond).toBe(0);
    expect(buildConfig({ node: 'n', dnsAddr: '127.0.0.1:8600', dnsRrlRate: '50', dnsRrlSlip: '0' }).dns.rateLimit).toEqual({ responsesPerSecond: 50, slip: 0 });
    expect(buildConfig({ node: 'n', dnsAddr: '0.0.0.0:53', dnsRrlRate: 0 }).dns.rateLimit.responsesPerSecond).toBe(0);
  });

  it('takes TLS files as given (they are read when the server starts)', () => {
    expect(buildConfig({ node: 'n', tlsCert: 'c.pem', tlsKey: 'k.pem' }).tls).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
      caFile: null,
      verifyIncoming: false,
    });
    expect(buildConfig({ node: 'n', tlsCert: 'c', tlsKey: 'k', tlsCa: 'ca', tlsVerifyIncoming: 'true' }).tls?.verifyIncoming).toBe(true);
  });

  it('flags beat the environment, which beats the file', () => {
    const raw = mergeRaw({ datacenter: 'file', node: 'f' }, fromEnv({ BEACON_DATACENTER: 'env', BEACON_HTTP_ADDR: '127.0.0.1:9' }), { datacenter: 'flag' });
    const c = buildConfig(raw);
    expect(c.datacenter).toBe('flag');
    expect(c.http.port).toBe(9);
    expect(c.node).toBe('f');
  });

  it.each([
    [{ httpAddr: 'localhost' }, /invalid httpAddr/],
    [{ httpAddr: '127.0.0.1:99999' }, /invalid httpAddr/],
    [{ datacenter: 'dc 1' }, /invalid datacenter/],
    [{ logLevel: 'loud' }, /invalid logLevel/],
    [{ dnsOnlyPassing: 'perhaps' }, /invalid dnsOnlyPassing/],
    [{ enableScriptChecks: 'yes' }, /invalid enableScriptChecks: "yes" is not a boolean/],
    [{ checkFailuresBeforeCritical: '0' }, /invalid checkFailuresBeforeCritical/],
    [{ dnsServiceTtl: 'web=forever' }, /invalid dnsServiceTtl/],
    [{ domain: 'bad_domain!' }, /invalid domain/],
    [{ recursors: '127.0.0.1:0' }, /invalid recursors/],
    [{ dnsRrlRate: '-1' }, /invalid dnsRrlRate/],
    [{ dnsRrlSlip: '11' }, /invalid dnsRrlSlip/],
    [{ httpWriteRate: 'fast' }, /invalid httpWriteRate/],
    [{ allowMetadataChecks: 'maybe' }, /invalid allowMetadataChecks/],
    [{ storeCa: 'ca.pem' }, /invalid storeCa: needs an etcd\+https:\/\/ store URL/],
    [{ store: 'etcd+https://a:2379', storeCert: 'c.pem' }, /invalid storeKey: a client certificate for etcd needs both/],
    [{ aclDefaultPolicy: 'block' }, /invalid aclDefaultPolicy: "block" must be allow or deny/],
    [{ aclDnsToken: 'has space' }, /invalid aclDnsToken/],
    [{ tlsCert: 'c.pem' }, /invalid tlsKey: is missing: --tls-cert needs --tls-key/],
    [{ tlsKey: 'k.pem' }, /invalid tlsCert: is missing/],
    [{ tlsCa: 'ca.pem' }, /invalid tlsCa: needs --tls-cert and --tls-key/],
    [{ tlsCert: 'c.pem', tlsKey: 'k.pem', tlsVerifyIncoming: true }, /invalid tlsVerifyIncoming: needs --tls-ca/],
    [{ joinWan: ['ftp://x:1'] }, /invalid joinWan/],
    [{ joinWan: '127.0.0.1' }, /invalid joinWan/],
    [{ wanInterval: '1ms' }, /invalid wanInterval/],
    [{ joinWan: 5 as unknown as string }, /invalid joinWan: must be a list/],
    [{ wanInterval: 5 as unknown as string }, /invalid wanInterval/],
    [{ eventHistory: '99' }, /invalid eventHistory: "99" must be an integer from 100/],
    [{ eventHistory: 'lots' }, /invalid eventHistory/],
    [{ eventHistoryAge: '30s' }, /invalid eventHistoryAge: "30s" must be a duration from 1m/],
    [{ eventSink: 'ftp://x/y' }, /invalid eventSink: "ftp:\/\/x\/y" is not an http/],
    [{ eventSink: 'not a url' }, /invalid eventSink/],
  ])('rejects %j naming the field', (raw, msg) => {
    expect(() => buildConfig({ node: 'n', ...raw })).toThrow(msg);
  });

  it("reads booleans from the environment as Go's strconv.ParseBool", () => {
    const c = buildConfig({
      node: 'n',
      ...fromEnv({ BEACON_DNS_ONLY_PASSING: 'T', BEACON_ENABLE_SCRIPT_CHECKS: '1', BEACON_ENABLE_LOCAL_SCRIPT_CHECKS: 'False' }),
    });
    expect([c.dns.onlyPassing, c.checks.enableScriptChecks, c.checks.enableLocalScriptChecks]).toEqual([true, true, false]);
    expect(buildConfig({ node: 'n', dnsOnlyPassing: true }).dns.onlyPassing).toBe(true);
  });

  it('takes recover from the flag only: not from the environment or a config file', () => {
    expect(buildConfig({ node: 'n', recover: true }).recover).toBe(true);
    expect(buildConfig({ node: 'n', ...fromEnv({ BEACON_RECOVER: 'true' }) }).recover).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'beacon-config-'));
    try {
      writeFileSync(join(dir, 'c.json'), '{"recover": true}');
      expect(() => fromFile(join(dir, 'c.json'))).toThrow(/unknown key "recover"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes WAN join addresses with or without http://, once each', () => {
    const c = buildConfig({ node: 'n', joinWan: ['http://127.0.0.1:8500/', '127.0.0.1:8500', '10.0.0.2:9500'], wanInterval: '250ms' });
    expect(c.wan).toEqual({ join: ['127.0.0.1:8500', '10.0.0.2:9500'], intervalMs: 250 });
  });

  it('parses DNS TTL overrides and recursors', () => {
    const c = buildConfig({ node: 'n', dnsServiceTtl: '10s,web=30s,api*=1s', recursors: '127.0.0.1:53,127.0.0.2', dnsAddr: 'off' });
    expect(c.dns.serviceTtl).toEqual({ default: 10, overrides: { web: 30, 'api*': 1 } });
    expect(c.dns.recursors).toEqual([
      { host: '127.0.0.1', port: 53 },
      { host: '127.0.0.2', port: 53 },
    ]);
    expect(c.dns.addr).toBeNull();
  });
});

describe('formatDuration', () => {
  it('formats as Go does', () => {
    expect(formatDuration(10_000)).toBe('10s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(3_600_000)).toBe('1h0m0s');
  });

  it('prefixes an etcd store with the datacenter by default, and checks a prefix and a session TTL', () => {
    expect(buildConfig({ node: 'n', store: 'etcd://127.0.0.1:2379', datacenter: 'eu1' }).storePrefix).toBe('/beacon/eu1/');
    expect(buildConfig({ node: 'n', store: 'etcd://127.0.0.1:2379', storePrefix: '/x/' }).storePrefix).toBe('/x/');
    expect(() => buildConfig({ node: 'n', storePrefix: '/x' })).toThrow(/storePrefix.*must end in '\/'/);
    expect(buildConfig({ node: 'n', sessionTtl: '3s' }).sessionTtlSeconds).toBe(3);
    expect(() => buildConfig({ node: 'n', sessionTtl: '1s' })).toThrow(/sessionTtl/);
    expect(() => buildConfig({ node: 'n', sessionTtl: '2500ms' })).toThrow(/whole number of seconds/);
  });
});
