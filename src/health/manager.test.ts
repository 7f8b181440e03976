import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import {
  Catalog,
  CatalogSessions,
  type CheckDefinition,
  type CheckRecord,
  type CheckType,
  type NodeRecord,
  type ServiceRecord,
  type StoreSession,
} from '../catalog/index.js';
import { buildConfig } from '../config/index.js';
import { isBeaconError } from '../errors/index.js';
import { createHealth } from './index.js';
import { DEAD_OUTPUT } from './liveness.js';
import { HealthManager, LOCAL_SCRIPTS_ONLY_OUTPUT, SCRIPTS_DISABLED_OUTPUT } from './manager.js';
import { httpTarget, scriptArgs } from './runners/targets.test-suite.js';
import type { HealthOptions, Sessions } from './types.js';

const NODE = 'n1';
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `f` answers, within a generous bound (a waiting aid, not a timing assertion). */
async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const nodeRec = (name: string, addr: string): NodeRecord => ({ ID: `id-${name}`, Node: name, Address: addr, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} });
const svc = (id: string): ServiceRecord => ({
  ID: id,
  Service: 'web',
  Tags: ['a'],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
});
const chk = (id: string, serviceId: string, type: CheckType, def: CheckDefinition, status: CheckRecord['Status'] = 'critical'): CheckRecord => ({
  Node: NODE,
  CheckID: id,
  Name: id,
  Status: status,
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: serviceId ? 'web' : '',
  ServiceTags: [],
  Type: type,
  Definition: def,
});
const serf = (node: string): CheckRecord => ({
  ...chk('serfHealth', '', '', {}, 'passing'),
  Node: node,
  Name: 'Serf Health Status',
  Output: 'Agent alive and reachable',
});

let fixture: TestCatalog;
let catalog: Catalog;
let sessions: CatalogSessions;
/** Every session health opened, so a test can end one under it. */
let opened: StoreSession[];
let health: HealthManager | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

/** Health wired as a server wires it: the catalog is the source, its commands the sink. */
function newHealth(config: Parameters<typeof buildConfig>[0], options: Partial<HealthOptions> = {}): HealthManager {
  const tracked: Sessions = {
    open: async (node, ttl) => {
      const s = await sessions.open(node, ttl);
      opened.push(s);
      return s;
    },
    watch: (l) => sessions.watch(l),
  };
  return new HealthManager({ source: catalog, sink: catalog.commands, sessions: tracked, logger: quiet, config: buildConfig(config), options });
}

async function startHealth(options: Partial<HealthOptions> = {}): Promise<HealthManager> {
  health = newHealth({ node: NODE }, { reaperTickMs: 100, reapFloorMs: 200, ...options });
  await health.start();
  return health;
}

beforeEach(async () => {
  ({ catalog } = fixture = await openTestCatalog('beacon-health-'));
  sessions = new CatalogSessions(fixture.store);
  opened = [];
  health = undefined;
  await catalog.commands.registerNodeWith(nodeRec(NODE, '127.0.0.1'), [svc('web-1')], [serf(NODE)]);
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await health?.stop();
  await fixture.close();
});

describe('createHealth', () => {
  it("takes the server's catalog, its commands and CatalogSessions as they are", async () => {
    const h = createHealth({
      source: catalog,
      sink: catalog.commands,
      sessions: new CatalogSessions(fixture.store),
      config: buildConfig({ node: NODE }),
      logger: quiet,
    });
    cleanups.push(() => h.stop());
    await h.start();
    await catalog.commands.registerCheck(chk('service:web-1', 'web-1', 'ttl', { TTLMs: 60_000 }));
    await h.api.updateTtl(NODE, 'service:web-1', 'passing', 'up');
    expect(catalog.check(NODE, 'service:web-1')!.record).toMatchObject({ Status: 'passing', Output: 'up' });
  });
});

describe('HealthManager: TTL checks', () => {
  it('a heartbeat writes only a status change; 1,000 more move no revision', async () => {
    const h = await startHealth();
    await catalog.commands.registerCheck(chk('service:web-1', 'web-1', 'ttl', { TTLMs: 5000 }));
    await h.api.updateTtl(NODE, 'service:web-1', 'passing', '');
    expect(catalog.check(NODE, 'service:web-1')!.record.Status).toBe('passing');
    const before = await fixture.store.currentRevision();
    for (let i = 0; i < 1000; i++) await h.api.updateTtl(NODE, 'service:web-1', 'passing', '');
    expect(await fixture.store.currentRevision()).toBe(before);
    await h.api.updateTtl(NODE, 'service:web-1', 'warning', 'slow');
    expect(catalog.check(NODE, 'service:web-1')!.record).toMatchObject({ Status: 'warning', Output: 'slow' });
  });

  it('an expired TTL turns the check critical with "TTL expired" and the last output', async () => {
    const h = await startHealth();
    await catalog.commands.registerCheck(chk('t1', 'web-1', 'ttl', { TTLMs: 300 }));
    await h.api.updateTtl(NODE, 't1', 'passing', 'all fine');
    const c = await until('expiry', () => catalog.check(NODE, 't1')?.record.Status === 'critical' && catalog.check(NODE, 't1')!.record);
    expect(c.Output).toBe('TTL expired (last output before timeout follows): all fine');
    expect(catalog.instances('web', { passingOnly: true }).value).toEqual([]);
  });

  it("answers CHECK_NOT_TTL, with Consul's text, for unknown and non-TTL checks", async () => {
    const h = await startHealth();
    await catalog.commands.registerCheck(chk('h1', 'web-1', 'http', { HTTP: 'http://127.0.0.1:1/', IntervalMs: 60_000 }));
    for (const id of ['nope', 'h1']) {
      const err = await h.api.updateTtl(NODE, id, 'passing', '').catch((e: unknown) => e);
      expect(isBeaconError(err, 'BEACON_ERR_CHECK_NOT_TTL')).toBe(true);
      expect((err as Error).message).toBe(`CheckID "${id}" does not have associated TTL`);
    }
  });

  it("takes heartbeats for any node's checks it owns, and only those", async () => {
    await catalog.commands.registerNodeWith(nodeRec('n2', '127.0.0.2'), [svc('web-2')], [{ ...chk('t-n2', 'web-2', 'ttl', { TTLMs: 60_000 }), Node: 'n2' }]);
    await catalog.commands.registerNodeWith(nodeRec('n3', '127.0.0.3'), [svc('web-3')], [{ ...chk('t-n3', 'web-3', 'ttl', { TTLMs: 60_000 }), Node: 'n3' }]);
    const h = await startHealth({ owns: (node) => node !== 'n3' });
    await h.api.updateTtl('n2', 't-n2', 'passing', 'beat');
    expect(catalog.check('n2', 't-n2')!.record).toMatchObject({ Status: 'passing', Output: 'beat' });
    expect(h.countByKind().get('ttl')).toBe(1);
    // Another server owns n3's check: it is not run here, and a heartbeat for it is refused.
    const err = await h.api.updateTtl('n3', 't-n3', 'passing', '').catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_CHECK_NOT_TTL')).toBe(true);
    expect(catalog.check('n3', 't-n3')!.record.Status).toBe('critical');
  });

  it('a status write never clobbers a concurrent re-registration', async () => {
    const h = await startHealth();
    await catalog.commands.registerCheck(chk('t2', 'web-1', 'ttl', { TTLMs: 5000 }));
    // Another server on the same store re-registers the check while the heartbeat's write is under way.
    const other = new Catalog(fixture.store, { datacenter: 'dc1' });
    await other.start();
    cleanups.push(() => other.stop());
    const rereg = other.commands.registerCheck({ ...chk('t2', 'web-1', 'ttl', { TTLMs: 5000 }), Notes: 'new notes', Name: 'renamed' });
    await h.api.updateTtl(NODE, 't2', 'passing', 'beat');
    await rereg;
    await catalog.catchUp();
    expect(catalog.check(NODE, 't2')!.record).toMatchObject({ Notes: 'new notes', Name: 'renamed', Status: 'passing', Output: 'beat' });
  });
});

describe('HealthManager: active checks', () => {
  it('runs an HTTP check and follows its target; deregistering stops it', async () => {
    const t = await httpTarget(200);
    cleanups.push(() => t.close());
    const h = await startHealth();
    await catalog.commands.registerCheck(chk('h', 'web-1', 'http', { HTTP: t.url, IntervalMs: 1000, TimeoutMs: 500 }));
    await until('passing', () => catalog.check(NODE, 'h')?.record.Status === 'passing');
    expect(h.countByKind().get('http')).toBe(1);
    t.mode = 429;
    await until('warning', () => catalog.check(NODE, 'h')?.record.Status === 'warning');
    t.mode = 500;
    const c = await until('critical', () => catalog.check(NODE, 'h')?.record.Status === 'critical' && catalog.check(NODE, 'h')!.record);
    expect(c.Output).toContain('500 Internal Server Error');
    await catalog.commands.deregisterCheck(NODE, 'h');
    // The catalog hands the delete over as it applies it: the runner is gone at once.
    expect(h.countByKind().get('http')).toBeUndefined();
    const runs = t.requests.length;
    await sleep(1200);
    expect(t.requests.length).toBe(runs);
  });
});

describe('HealthManager: script checks and the enabling flags', () => {
  const script = (id: string, local: boolean) =>
    chk(id, '', 'script', { Args: scriptArgs(0, `ran ${id}`), IntervalMs: 1000, TimeoutMs: 5000, ...(local ? { LocalScript: true } : {}) }, 'warning');

  it("--enable-local-script-checks runs the config file's script checks only", async () => {
    health = newHealth({ node: NODE, enableLocalScriptChecks: true });
    await health.start();
    await catalog.commands.registerCheck(script('from-file', true));
    await catalog.commands.registerCheck(script('from-api', false));
    const api = await until('from-api refused', () => catalog.check(NODE, 'from-api')?.record.Status === 'critical' && catalog.check(NODE, 'from-api')!.record);
    expect(api.Output).toBe(LOCAL_SCRIPTS_ONLY_OUTPUT);
    const file = await until(
      'from-file passing',
      () => catalog.check(NODE, 'from-file')?.record.Status === 'passing' && catalog.check(NODE, 'from-file')!.record,
    );
    expect(file.Output).toBe('ran from-file');
  });

  it('without either flag no script check runs; --enable-script-checks runs both', async () => {
    health = newHealth({ node: NODE });
    await health.start();
    await catalog.commands.registerCheck(script('s1', true));
    expect((await until('s1 refused', () => catalog.check(NODE, 's1')?.record.Status === 'critical' && catalog.check(NODE, 's1')!.record)).Output).toBe(
      SCRIPTS_DISABLED_OUTPUT,
    );
    await health.stop();
    health = newHealth({ node: NODE, enableScriptChecks: true });
    await health.start();
    await catalog.commands.registerCheck(script('s2', false));
    await until('both passing', () => catalog.check(NODE, 's1')?.record.Status === 'passing' && catalog.check(NODE, 's2')?.record.Status === 'passing');
  });
});

describe('HealthManager: DeregisterCriticalServiceAfter', () => {
  it('reaps a service whose check stayed critical long enough, and spares one that recovered', async () => {
    const h = await startHealth();
    await catalog.commands.registerService(NODE, svc('web-2'), [chk('r2', 'web-2', 'ttl', { TTLMs: 60_000, DeregisterCriticalServiceAfterMs: 300 })]);
    await catalog.commands.registerCheck(chk('r1', 'web-1', 'ttl', { TTLMs: 60_000, DeregisterCriticalServiceAfterMs: 300 }));
    await h.api.updateTtl(NODE, 'r2', 'passing', '');
    await until('web-1 reaped', () => !catalog.instance(NODE, 'web-1'));
    expect(catalog.check(NODE, 'r1')).toBeUndefined();
    expect(catalog.instance(NODE, 'web-2')).toBeDefined();
  });
});

describe('HealthManager: node liveness', () => {
  it('holds a session; when it lapses serfHealth goes critical, then comes back with a new session', async () => {
    await startHealth({ sessionTtlSeconds: 1 });
    expect(opened).toHaveLength(1);
    const seen: string[] = [];
    const off = catalog.onChange(() => seen.push(catalog.check(NODE, 'serfHealth')!.record.Status));
    // The lease ends under this server (as when it lapses).
    await opened[0].end({ revoke: true });
    await until('serfHealth critical', () => seen.includes('critical'));
    await until('serfHealth passing again', () => catalog.check(NODE, 'serfHealth')!.record.Status === 'passing' && seen.at(-1) === 'passing');
    off();
    expect(opened).toHaveLength(2);
    expect(opened[1].id).not.toBe(opened[0].id);
    expect(await opened[1].keepAlive()).toBe(true);
  });

  it('another node whose session lapses turns critical, and every instance on it leaves passing results', async () => {
    await catalog.commands.registerNodeWith(
      nodeRec('n2', '127.0.0.2'),
      [svc('web-2')],
      [serf('n2'), { ...chk('service:web-2', 'web-2', 'ttl', { TTLMs: 60_000 }, 'passing'), Node: 'n2' }],
    );
    await startHealth();
    // n2's own process holds its session, through the same store.
    const n2 = await new CatalogSessions(fixture.store).open('n2', 30);
    const statusOf = (node: string) => catalog.instances('web').value.find((i) => i.node.record.Node === node)?.status;
    await until('web-2 passing', () => statusOf('n2') === 'passing');
    await n2.end({ revoke: true });
    await until('n2 serfHealth critical', () => catalog.check('n2', 'serfHealth')?.record.Status === 'critical');
    expect(catalog.check('n2', 'serfHealth')!.record.Output).toBe(DEAD_OUTPUT);
    expect(statusOf('n2')).toBe('critical');
    // Still registered, and this node's instance is untouched.
    expect(catalog.instance('n2', 'web-2')).toBeDefined();
    expect(catalog.check(NODE, 'serfHealth')!.record.Status).toBe('passing');
  });

  it('a restart of the same node ends the session its previous run left', async () => {
    await startHealth();
    await health!.stop();
    const first = opened[0];
    expect(await first.keepAlive()).toBe(true);
    await startHealth();
    expect(await first.keepAlive()).toBe(false);
    expect(catalog.check(NODE, 'serfHealth')!.record.Status).toBe('passing');
  });

  it('stop({ revoke: true }) ends the session at once (a clean leave)', async () => {
    await startHealth();
    await health!.stop({ revoke: true });
    expect(await opened[0].keepAlive()).toBe(false);
  });
});
