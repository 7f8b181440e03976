import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { Catalog, type CheckDefinition, type CheckRecord, type CheckType, type ServiceRecord } from '../catalog/index.js';
import { buildConfig } from '../config/index.js';
import { isBeaconError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import { DEAD_OUTPUT, sessionKey } from './liveness.js';
import { DEFAULT_SERVICE_MAINT_REASON } from './maintenance.js';
import { HealthManager, LOCAL_SCRIPTS_ONLY_OUTPUT, SCRIPTS_DISABLED_OUTPUT } from './manager.js';
import { httpTarget, scriptArgs } from './runners/targets.test-suite.js';
import type { HealthOptions } from './types.js';

const NODE = 'n1';
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const svc = (id: string): ServiceRecord => ({
  ID: id, Service: 'web', Tags: ['a'], Address: '', TaggedAddresses: {}, Meta: {}, Port: 80,
  Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Kind: '',
});
const chk = (id: string, serviceId: string, type: CheckType, def: CheckDefinition, status: CheckRecord['Status'] = 'critical'): CheckRecord => ({
  Node: NODE, CheckID: id, Name: id, Status: status, Notes: '', Output: '', ServiceID: serviceId, ServiceName: serviceId ? 'web' : '',
  ServiceTags: [], Type: type, Definition: def,
});

let fixture: TestCatalog;
let store: Store;
let catalog: Catalog;
let health: HealthManager;
const cleanups: (() => Promise<void> | void)[] = [];

async function startHealth(options: Partial<HealthOptions> = {}): Promise<void> {
  health = new HealthManager({ catalog, store, logger: quiet, config: buildConfig({ node: NODE }), options: { reaperTickMs: 100, reapFloorMs: 200, ...options } });
  await health.start();
}

beforeEach(async () => {
  ({ store, catalog } = fixture = await openTestCatalog('beacon-health-'));
  await catalog.write([
    catalog.putNodeOp({ ID: 'id-n1', Node: NODE, Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} }),
    catalog.putCheckOp({ ...chk('serfHealth', '', '', {}, 'passing'), Name: 'Serf Health Status', Output: 'Agent alive and reachable' }),
    catalog.putServiceOp(NODE, svc('web-1')),
  ]);
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await health?.stop();
  await fixture.close();
});

describe('HealthManager: TTL checks', () => {
  it('a heartbeat writes only a status change; 1,000 more move no store revision', async () => {
    await startHealth();
    await catalog.write([catalog.putCheckOp(chk('service:web-1', 'web-1', 'ttl', { TTLMs: 5000 }))]);
    await health.api.updateTtl('service:web-1', 'passing', '');
    expect(catalog.check(NODE, 'service:web-1')!.record.Status).toBe('passing');
    const before = await store.currentRevision();
    for (let i = 0; i < 1000; i++) await health.api.updateTtl('service:web-1', 'passing', '');
    expect(await store.currentRevision()).toBe(before);
    await health.api.updateTtl('service:web-1', 'warning', 'slow');
    expect(catalog.check(NODE, 'service:web-1')!.record).toMatchObject({ Status: 'warning', Output: 'slow' });
  });

  it('an expired TTL turns the check critical with "TTL expired" and the last output', async () => {
    await startHealth();
    await catalog.write([catalog.putCheckOp(chk('t1', 'web-1', 'ttl', { TTLMs: 300 }))]);
    await health.api.updateTtl('t1', 'passing', 'all fine');
    const c = await until('expiry', () => catalog.check(NODE, 't1')?.record.Status === 'critical' && catalog.check(NODE, 't1')!.record);
    expect(c.Output).toBe('TTL expired (last output before timeout follows): all fine');
    expect(catalog.instances('web', { passingOnly: true }).value).toEqual([]);
  });

  it('answers CHECK_NOT_TTL, with Consul\'s text, for unknown and non-TTL checks', async () => {
    await startHealth();
    await catalog.write([catalog.putCheckOp(chk('h1', 'web-1', 'http', { HTTP: 'http://127.0.0.1:1/', IntervalMs: 60_000 }))]);
    for (const id of ['nope', 'h1']) {
      const err = await health.api.updateTtl(id, 'passing', '').catch((e: unknown) => e);
      expect(isBeaconError(err, 'BEACON_ERR_CHECK_NOT_TTL')).toBe(true);
      expect((err as Error).message).toBe(`CheckID "${id}" does not have associated TTL`);
    }
  });

  it('a status write never clobbers a concurrent re-registration', async () => {
    await startHealth();
    await catalog.write([catalog.putCheckOp(chk('t2', 'web-1', 'ttl', { TTLMs: 5000 }))]);
    // The re-registration reaches the store while the heartbeat's write is being prepared.
    const rereg = store.txn([], [catalog.putCheckOp({ ...chk('t2', 'web-1', 'ttl', { TTLMs: 5000 }), Notes: 'new notes', Name: 'renamed' })]);
    await health.api.updateTtl('t2', 'passing', 'beat');
    await rereg;
    await catalog.catchUp();
    expect(catalog.check(NODE, 't2')!.record).toMatchObject({ Notes: 'new notes', Name: 'renamed', Status: 'passing', Output: 'beat' });
  });
});

describe('HealthManager: active checks', () => {
  it('runs an HTTP check and follows its target; deregistering stops it', async () => {
    const t = await httpTarget(200);
    cleanups.push(() => t.close());
    await startHealth();
    await catalog.write([catalog.putCheckOp(chk('h', 'web-1', 'http', { HTTP: t.url, IntervalMs: 1000, TimeoutMs: 500 }))]);
    await until('passing', () => catalog.check(NODE, 'h')?.record.Status === 'passing', 3000);
    expect(health.countByKind().get('http')).toBe(1);
    t.mode = 429;
    await until('warning', () => catalog.check(NODE, 'h')?.record.Status === 'warning', 3000);
    t.mode = 500;
    const c = await until('critical', () => catalog.check(NODE, 'h')?.record.Status === 'critical' && catalog.check(NODE, 'h')!.record, 3000);
    expect(c.Output).toContain('500 Internal Server Error');
    await catalog.write([catalog.deleteCheckOp(NODE, 'h')]);
    await sleep(50);
    expect(health.countByKind().get('http')).toBeUndefined();
    const runs = t.requests.length;
    await sleep(1200);
    expect(t.requests.length).toBe(runs);
  });
});

describe('HealthManager: script checks and the enabling flags', () => {
  const script = (id: string, local: boolean) =>
    chk(id, '', 'script', { Args: scriptArgs(0, `ran ${id}`), IntervalMs: 1000, TimeoutMs: 5000, ...(local ? { LocalScript: true } : {}) }, 'warning');

  it('--enable-local-script-checks runs the config file\'s script checks only', async () => {
    health = new HealthManager({ catalog, store, logger: quiet, config: buildConfig({ node: NODE, enableLocalScriptChecks: true }) });
    await health.start();
    await catalog.write([catalog.putCheckOp(script('from-file', true)), catalog.putCheckOp(script('from-api', false))]);
    const api = await until('from-api refused', () => catalog.check(NODE, 'from-api')?.record.Status === 'critical' && catalog.check(NODE, 'from-api')!.record, 3000);
    expect(api.Output).toBe(LOCAL_SCRIPTS_ONLY_OUTPUT);
    const file = await until('from-file passing', () => catalog.check(NODE, 'from-file')?.record.Status === 'passing' && catalog.check(NODE, 'from-file')!.record, 4000);
    expect(file.Output).toBe('ran from-file');
  });

  it('without either flag no script check runs; --enable-script-checks runs both', async () => {
    health = new HealthManager({ catalog, store, logger: quiet, config: buildConfig({ node: NODE }) });
    await health.start();
    await catalog.write([catalog.putCheckOp(script('s1', true))]);
    expect((await until('s1 refused', () => catalog.check(NODE, 's1')?.record.Status === 'critical' && catalog.check(NODE, 's1')!.record, 3000)).Output).toBe(SCRIPTS_DISABLED_OUTPUT);
    await health.stop();
    health = new HealthManager({ catalog, store, logger: quiet, config: buildConfig({ node: NODE, enableScriptChecks: true }) });
    await health.start();
    await catalog.write([catalog.putCheckOp(script('s2', false))]);
    await until('both passing', () => catalog.check(NODE, 's1')?.record.Status === 'passing' && catalog.check(NODE, 's2')?.record.Status === 'passing', 4000);
  });
});

describe('HealthManager: DeregisterCriticalServiceAfter', () => {
  it('reaps a service whose check stayed critical long enough, and spares one that recovered', async () => {
    await startHealth();
    await catalog.write([
      catalog.putServiceOp(NODE, svc('web-2')),
      catalog.putCheckOp(chk('r1', 'web-1', 'ttl', { TTLMs: 60_000, DeregisterCriticalServiceAfterMs: 300 })),
      catalog.putCheckOp(chk('r2', 'web-2', 'ttl', { TTLMs: 60_000, DeregisterCriticalServiceAfterMs: 300 })),
    ]);
    await health.api.updateTtl('r2', 'passing', '');
    await until('web-1 reaped', () => !catalog.instance(NODE, 'web-1'), 3000);
    expect(catalog.check(NODE, 'r1')).toBeUndefined();
    expect(catalog.instance(NODE, 'web-2')).toBeDefined();
  });
});

describe('HealthManager: maintenance', () => {
  it('adds and removes Consul\'s maintenance checks; unknown services are 404', async () => {
    await startHealth();
    await health.api.setMaintenance(true, '', 'web-1');
    const m = catalog.check(NODE, '_service_maintenance:web-1')!.record;
    expect(m).toMatchObject({ Status: 'critical', Name: 'Service Maintenance Mode', Notes: DEFAULT_SERVICE_MAINT_REASON, ServiceID: 'web-1', Type: 'maintenance' });
    expect(catalog.instance(NODE, 'web-1')!.status).toBe('maintenance');
    const rev = await store.currentRevision();
    await health.api.setMaintenance(true, 'again', 'web-1');
    expect(await store.currentRevision()).toBe(rev);
    await health.api.setMaintenance(false, '', 'web-1');
    expect(catalog.check(NODE, '_service_maintenance:web-1')).toBeUndefined();
    await health.api.setMaintenance(true, 'patching', undefined);
    expect(catalog.check(NODE, '_node_maintenance')!.record).toMatchObject({ Notes: 'patching', Name: 'Node Maintenance Mode' });
    await health.api.setMaintenance(false, '', undefined);
    expect(catalog.check(NODE, '_node_maintenance')).toBeUndefined();
    const err = await health.api.setMaintenance(true, '', 'ghost').catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toBe('No service registered with ID "ghost"');
  });
});

describe('HealthManager: node liveness', () => {
  it('holds a session lease; when it lapses serfHealth goes critical, then comes back with a new session', async () => {
    await startHealth({ sessionTtlSeconds: 1 });
    const kv = await store.get(sessionKey(NODE));
    expect(kv?.lease).toBeDefined();
    expect(kv!.lease).not.toBe('0');
    const seen: string[] = [];
    const off = catalog.onChange(() => seen.push(catalog.check(NODE, 'serfHealth')!.record.Status));
    await store.revoke(kv!.lease);
    await until('serfHealth critical', () => seen.includes('critical'), 3000);
    const after = await until('serfHealth passing again', () => catalog.check(NODE, 'serfHealth')!.record.Status === 'passing' && seen.at(-1) === 'passing', 3000);
    expect(after).toBe(true);
    off();
    const kv2 = await store.get(sessionKey(NODE));
    expect(kv2!.lease).not.toBe(kv!.lease);
    expect(DEAD_OUTPUT).toBe('Agent not live or unreachable');
  });

  it('another node whose session lapses turns critical, and every instance on it leaves passing results', async () => {
    await catalog.write([
      catalog.putNodeOp({ ID: 'id-n2', Node: 'n2', Address: '127.0.0.2', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} }),
      catalog.putCheckOp({ ...chk('serfHealth', '', '', {}, 'passing'), Node: 'n2', Name: 'Serf Health Status' }),
      catalog.putServiceOp('n2', svc('web-2')),
      catalog.putCheckOp({ ...chk('service:web-2', 'web-2', 'ttl', { TTLMs: 60_000 }, 'passing'), Node: 'n2' }),
    ]);
    await startHealth();
    const lease = await store.grant(30);
    await store.put(sessionKey('n2'), '{}', { lease });
    const statusOf = (node: string) => catalog.instances('web').value.find((i) => i.node.record.Node === node)?.status;
    await until('web-2 passing', () => statusOf('n2') === 'passing');
    await store.revoke(lease);
    await until('n2 serfHealth critical', () => catalog.check('n2', 'serfHealth')?.record.Status === 'critical');
    expect(catalog.check('n2', 'serfHealth')!.record.Output).toBe(DEAD_OUTPUT);
    expect(statusOf('n2')).toBe('critical');
    // Still registered, and this node's instance is untouched.
    expect(catalog.instance('n2', 'web-2')).toBeDefined();
    expect(catalog.check(NODE, 'serfHealth')!.record.Status).toBe('passing');
  });
});
