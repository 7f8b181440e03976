import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import type { CheckRecord, NodeRecord } from '../catalog/index.js';
import { CheckWriter } from './check-writer.js';
import { MemoryChecks } from './memory-deps.test-suite.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const check: CheckRecord = {
  Node: 'n1',
  CheckID: 'c1',
  Name: 'c1',
  Status: 'critical',
  Notes: 'keep me',
  Output: '',
  ServiceID: '',
  ServiceName: '',
  ServiceTags: [],
  Type: 'http',
  Definition: { HTTP: 'http://127.0.0.1:1/', IntervalMs: 1000 },
};
const node: NodeRecord = { ID: 'id-n1', Node: 'n1', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };

describe('CheckWriter (in memory, on the fake clock)', () => {
  let mem: MemoryChecks;
  beforeEach(() => {
    vi.useFakeTimers();
    mem = new MemoryChecks();
    mem.put(check);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes status changes at once, output-only changes at most once per interval (latest wins), nothing else', async () => {
    const kinds: string[] = [];
    const w = new CheckWriter({ source: mem, sink: mem, logger: quiet, outputUpdateIntervalMs: 300, onWrite: (k) => kinds.push(k) }, 'n1', 'c1');
    await w.set({ status: 'passing', output: 'one' });
    expect(mem.check('n1', 'c1')!.record).toMatchObject({ Status: 'passing', Output: 'one', Notes: 'keep me' });
    await w.set({ status: 'passing', output: 'one' });
    expect(mem.writes).toHaveLength(1);
    // Output-only changes inside the interval wait for its end; the latest one is written then.
    await w.set({ status: 'passing', output: 'two' });
    await vi.advanceTimersByTimeAsync(100);
    await w.set({ status: 'passing', output: 'three' });
    await vi.advanceTimersByTimeAsync(199);
    expect(mem.check('n1', 'c1')!.record.Output).toBe('one');
    await vi.advanceTimersByTimeAsync(1);
    expect(mem.check('n1', 'c1')!.record.Output).toBe('three');
    // A status change is not held back by the output interval.
    await w.set({ status: 'critical', output: 'down' });
    expect(mem.check('n1', 'c1')!.record).toMatchObject({ Status: 'critical', Output: 'down' });
    expect(mem.writes.map((x) => x.output)).toEqual(['one', 'three', 'down']);
    expect(kinds).toEqual(['status', 'output', 'status']);
    w.close();
  });

  it('tries a failed write again with growing, jittered delays until it lands', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter: 1 s, then 2 s
    const w = new CheckWriter({ source: mem, sink: mem, logger: quiet, outputUpdateIntervalMs: 0 }, 'n1', 'c1');
    mem.failNext = 2;
    await expect(w.set({ status: 'passing', output: 'up' })).rejects.toMatchObject({ code: 'BEACON_ERR_STORE_UNAVAILABLE' });
    await vi.advanceTimersByTimeAsync(999);
    expect(mem.failNext).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(mem.failNext).toBe(0);
    expect(mem.writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(mem.writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(mem.writes).toEqual([{ node: 'n1', checkId: 'c1', status: 'passing', output: 'up' }]);
    // Once written, nothing more is tried.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(mem.writes).toHaveLength(1);
    vi.restoreAllMocks();
    w.close();
  });

  it('while a status cannot be written, answers are told to show it; once written, or closed, they stop', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const shown: (string | undefined)[] = [];
    const sink = {
      setCheckStatus: mem.setCheckStatus.bind(mem),
      setPending: (_n: string, _c: string, r: { status: string } | undefined) => shown.push(r?.status),
    };
    const w = new CheckWriter({ source: mem, sink, logger: quiet, outputUpdateIntervalMs: 0 }, 'n1', 'c1');
    mem.failNext = 1;
    await expect(w.set({ status: 'passing', output: 'up' })).rejects.toMatchObject({ code: 'BEACON_ERR_STORE_UNAVAILABLE' });
    expect(shown).toEqual(['passing']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(mem.check('n1', 'c1')!.record.Status).toBe('passing');
    expect(shown).toEqual(['passing', undefined]);
    // A healthy write shows nothing; a closed writer takes back what it showed.
    await w.set({ status: 'warning', output: 'slow' });
    expect(shown).toEqual(['passing', undefined]);
    mem.failNext = 1;
    await expect(w.set({ status: 'critical', output: 'down' })).rejects.toBeDefined();
    w.close();
    expect(shown).toEqual(['passing', undefined, 'critical', undefined]);
  });

  it('a closed writer tries nothing more', async () => {
    const w = new CheckWriter({ source: mem, sink: mem, logger: quiet, outputUpdateIntervalMs: 0 }, 'n1', 'c1');
    mem.failNext = 1;
    await w.set({ status: 'passing', output: '' }).catch(() => undefined);
    w.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(mem.writes).toEqual([]);
  });
});

describe('CheckWriter through the catalog commands', () => {
  let fixture: TestCatalog;
  beforeEach(async () => {
    fixture = await openTestCatalog('beacon-writer-');
    await fixture.catalog.commands.registerNodeWith(node, [], [check]);
  });
  afterEach(async () => {
    await fixture.close();
  });

  it('changes only Status and Output, and moves no revision when nothing changed', async () => {
    const { catalog } = fixture;
    const w = new CheckWriter({ source: catalog, sink: catalog.commands, logger: quiet, outputUpdateIntervalMs: 0 }, 'n1', 'c1');
    await w.set({ status: 'passing', output: 'ok' });
    expect(catalog.check('n1', 'c1')!.record).toEqual({ ...check, Status: 'passing', Output: 'ok' });
    const rev = catalog.revision;
    await w.set({ status: 'passing', output: 'ok' });
    expect(catalog.revision).toBe(rev);
    w.close();
  });

  it('writes nothing for a check that was deregistered', async () => {
    const { catalog } = fixture;
    const w = new CheckWriter({ source: catalog, sink: catalog.commands, logger: quiet, outputUpdateIntervalMs: 0 }, 'n1', 'c1');
    await catalog.commands.deregisterCheck('n1', 'c1');
    const rev = catalog.revision;
    await w.set({ status: 'passing', output: '' });
    expect(catalog.revision).toBe(rev);
    expect(catalog.check('n1', 'c1')).toBeUndefined();
  });
});
