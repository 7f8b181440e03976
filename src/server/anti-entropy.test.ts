/**
 * The anti-entropy loop over a real catalog and store, with the clock faked (setTimeout only:
 * the store's group commit runs on setImmediate and stays real). What is asserted is when a
 * pass runs (debounce, period with jitter, back-off), not how long anything takes.
 */
import client from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CatalogCommands, CheckRecord, NodeRecord, ServiceRecord } from '../catalog/index.js';
import type { Logger } from '../config/index.js';
import { ALIVE_OUTPUT } from '../health/index.js';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { AntiEntropy, type AntiEntropyDeps } from './anti-entropy.js';
import { LocalState } from './local-state.js';
import { SharedLock } from './shared-lock.js';

const NODE: NodeRecord = {
  ID: '4c7d3b1e-0f6a-4f4e-a3a6-6c1c3f7b9e21',
  Node: 'srv',
  Address: '127.0.0.1',
  Datacenter: 'dc1',
  TaggedAddresses: { lan: '127.0.0.1' },
  Meta: { 'consul-network-segment': '' },
};
const CONSUL: ServiceRecord = {
  ID: 'consul',
  Service: 'consul',
  Tags: [],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 8300,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
};
const SERF: CheckRecord = {
  Node: 'srv',
  CheckID: 'serfHealth',
  Name: 'Serf Health Status',
  Status: 'critical',
  Notes: '',
  Output: '',
  ServiceID: '',
  ServiceName: '',
  ServiceTags: [],
  Type: '',
  Definition: {},
};
const WEB: ServiceRecord = { ...CONSUL, ID: 'web', Service: 'web', Port: 80 };
const WEB_CHECK: CheckRecord = {
  ...SERF,
  CheckID: 'service:web',
  Name: 'web ttl',
  ServiceID: 'web',
  ServiceName: 'web',
  Type: 'ttl',
  Definition: { TTLMs: 10_000 },
};

class RecordingLogger implements Logger {
  readonly lines: Array<{ level: string; msg: string }> = [];
  info(_o: object, msg = ''): void {
    this.lines.push({ level: 'info', msg });
  }
  warn(_o: object, msg = ''): void {
    this.lines.push({ level: 'warn', msg });
  }
  error(_o: object, msg = ''): void {
    this.lines.push({ level: 'error', msg });
  }
  debug(): void {}
  repairs(): string[] {
    return this.lines.filter((l) => l.level === 'info').map((l) => l.msg);
  }
}

/** Lets real I/O (store commits on setImmediate) run until `cond` holds; fails after many rounds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}
/** Lets real I/O run for a while (to show that something did not happen). */
async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await new Promise<void>((r) => setImmediate(r));
}

let tc: TestCatalog;
let state: LocalState;
let logger: RecordingLogger;
let sessionUp: boolean;
let ae: AntiEntropy | undefined;
let registry: client.Registry;

beforeEach(async () => {
  tc = await openTestCatalog('beacon-ae-');
  state = new LocalState(NODE);
  state.apply([
    { op: 'service', source: 'server', service: CONSUL },
    { op: 'check', source: 'server', check: SERF },
    { op: 'service', source: 'api', service: WEB },
    { op: 'check', source: 'api', check: WEB_CHECK },
  ]);
  logger = new RecordingLogger();
  sessionUp = true;
  registry = new client.Registry();
});
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await ae?.stop();
  ae = undefined;
  await tc.close();
});

async function startLoop(over: Partial<AntiEntropyDeps> = {}, options = { intervalMs: 30_000, debounceMs: 1000 }): Promise<AntiEntropy> {
  ae = new AntiEntropy({ catalog: tc.catalog, state, lock: new SharedLock(), sessionUp: () => sessionUp, logger, registry, options, ...over });
  await ae.syncNow({ firstRegistration: true });
  expect(logger.lines).toEqual([]);
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  ae.start();
  return ae;
}

const cat = () => tc.catalog;
/** The catalog's reads, for a stand-in catalog that changes something else. */
const lookups = () => ({
  node: (n: string) => cat().node(n),
  serviceRecord: (n: string, id: string) => cat().serviceRecord(n, id),
  storedCheck: (n: string, id: string) => cat().storedCheck(n, id),
  checksOf: (n: string, sid: string) => cat().checksOf(n, sid),
});
const webCheck = () => cat().check('srv', 'service:web')?.record;

describe('anti-entropy loop', () => {
  it('registers the node on the first pass, then repairs a catalog deregister once the debounce has passed', async () => {
    const loop = await startLoop();
    expect(
      cat()
        .node('srv')
        .value?.services.map((s) => s.record.ID)
        .sort(),
    ).toEqual(['consul', 'web']);
    expect(cat().check('srv', 'serfHealth')?.record).toMatchObject({ Status: 'passing', Output: ALIVE_OUTPUT });

    await cat().commands.setCheckStatus('srv', 'service:web', { status: 'passing', output: 'fine' });
    await cat().commands.deregisterNode('srv');
    await vi.advanceTimersByTimeAsync(999);
    await settle();
    expect(cat().nodeRecord('srv')).toBeUndefined();

    await vi.advanceTimersByTimeAsync(1);
    await until(() => cat().nodeRecord('srv') !== undefined && webCheck() !== undefined, 'node restored');
    expect(cat().nodeRecord('srv')!.record).toEqual(NODE);
    // A check re-created after its removal starts critical; serfHealth passing (the session is up).
    expect(webCheck()).toMatchObject({ Status: 'critical', Output: '', Type: 'ttl' });
    expect(cat().check('srv', 'serfHealth')?.record).toMatchObject({ Status: 'passing', Output: ALIVE_OUTPUT });
    expect(loop.repairs).toMatchObject({ node: 1, service: 2, check: 2 });
    expect(logger.repairs()).toEqual([
      expect.stringMatching(/^anti-entropy: restored this server's node, missing from the catalog, with 2 services and 2 checks$/),
    ]);
    const text = await registry.metrics();
    expect(text).toMatch(/beacon_server_anti_entropy_repairs_total\{kind="node"\} 1/);
    expect(text).toMatch(/beacon_server_anti_entropy_repairs_total\{kind="removed_service"\} 0/);
  });

  it('changes within the debounce share one pass; a check keeps its status when only its definition is put back', async () => {
    const loop = await startLoop();
    await cat().commands.catalogRegister({
      node: { Node: 'srv', Address: '10.9.9.9', ID: '', TaggedAddresses: {}, Meta: {} },
      service: { ...WEB, ID: 'intruder', Service: 'intruder' },
      checks: [{ ...WEB_CHECK, CheckID: 'service:web', Definition: {}, Type: '', Status: 'warning', Output: 'as the catalog says' }],
    });
    await vi.advanceTimersByTimeAsync(1000);
    await until(
      () => !cat().serviceRecord('srv', 'intruder') && cat().nodeRecord('srv')?.record.Address === '127.0.0.1' && webCheck()?.Type === 'ttl',
      'all repaired',
    );
    // Status and output are health's: anti-entropy puts back the definition only.
    expect(webCheck()).toMatchObject({ Status: 'warning', Output: 'as the catalog says', Definition: { TTLMs: 10_000 } });
    expect(loop.repairs).toMatchObject({ node: 1, check: 1, removed_service: 1 });
    expect(logger.repairs()).toEqual([
      expect.stringMatching(/restored this server's node record \(Address, TaggedAddresses, Meta differed\)/),
      expect.stringMatching(/restored service "web" \(checks restored: service:web\)/),
      expect.stringMatching(/removed service "intruder": not registered on this server/),
    ]);
  });

  it('the periodic pass (30 s ±10 %) finds damage no change announced', async () => {
    const deaf: AntiEntropyDeps['catalog'] = {
      ...lookups(),
      get commands() {
        return cat().commands;
      },
      onChange: () => () => undefined,
      onCheckChange: () => () => undefined,
    };
    await startLoop({ catalog: deaf });
    await cat().commands.deregisterService('srv', 'web');
    await vi.advanceTimersByTimeAsync(26_999);
    await settle();
    expect(cat().serviceRecord('srv', 'web')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(6_002);
    await until(() => cat().serviceRecord('srv', 'web') !== undefined, 'web restored by the periodic pass');
  });

  it('on a node whose comparison is costly, a change waits 50 times as long as the last comparison took', async () => {
    // Every comparison appears to take 100 ms: a change is looked at after 5 s, not 1 s.
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (now += 100));
    await startLoop();
    await cat().commands.deregisterService('srv', 'web');
    await vi.advanceTimersByTimeAsync(4999);
    await settle();
    expect(cat().serviceRecord('srv', 'web')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await until(() => cat().serviceRecord('srv', 'web') !== undefined, 'web restored');
  });

  it('leaves serfHealth to liveness while the session is down and sets it passing when the session is back', async () => {
    const loop = await startLoop();
    sessionUp = false;
    await cat().commands.setCheckStatus('srv', 'serfHealth', { status: 'critical', output: 'Agent not live or unreachable' });
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(cat().check('srv', 'serfHealth')?.record.Status).toBe('critical');
    sessionUp = true;
    loop.trigger(); // what OwnSession does when the session comes up
    await vi.advanceTimersByTimeAsync(1000);
    await until(() => cat().check('srv', 'serfHealth')?.record.Status === 'passing', 'serfHealth passing');
    expect(loop.repairs.serf_health).toBe(1);
  });

  it('compares with what the store has: a status shown but not written (the store refusing writes) is not repaired', async () => {
    const loop = await startLoop();
    cat().setPending('srv', 'serfHealth', { status: 'critical', output: 'Beacon cannot write to its store: disk full' });
    expect(cat().check('srv', 'serfHealth')?.record.Status).toBe('critical');
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(loop.repairs.serf_health).toBe(0);
    expect(logger.lines).toEqual([]);
  });

  it('a pass that fails is logged and tried again with back-off', async () => {
    let failures = 2;
    const real = () => cat().commands;
    const flaky = {
      registerService: (...a: Parameters<CatalogCommands['registerService']>) => {
        if (failures-- > 0) return Promise.reject(new Error('store away'));
        return real().registerService(...a);
      },
    };
    const catalog: AntiEntropyDeps['catalog'] = {
      ...lookups(),
      // The real commands, but for a registerService that fails twice.
      get commands() {
        return Object.assign(Object.create(real()) as CatalogCommands, flaky);
      },
      onChange: (l) => cat().onChange(l),
      onCheckChange: (l) => cat().onCheckChange(l),
    };
    await startLoop({ catalog });
    // Back-off: 1 s, then 2 s (their ±20 % jitter pinned to the middle here).
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    await cat().commands.deregisterService('srv', 'web');
    await vi.advanceTimersByTimeAsync(1000);
    await until(() => logger.lines.filter((l) => l.level === 'warn').length === 1, 'first failure logged');
    await vi.advanceTimersByTimeAsync(999);
    await settle();
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => logger.lines.filter((l) => l.level === 'warn').length === 2, 'second failure logged');
    await vi.advanceTimersByTimeAsync(1999);
    await settle();
    expect(cat().serviceRecord('srv', 'web')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await until(() => cat().serviceRecord('srv', 'web') !== undefined, 'repaired after the back-off');
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      "anti-entropy: repairing this server's node failed; trying again",
      "anti-entropy: repairing this server's node failed; trying again",
    ]);
  });
});
