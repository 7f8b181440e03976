import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { Catalog, type CheckRecord } from '../catalog/index.js';
import type { Store } from '../store/index.js';
import { CheckWriter } from './check-writer.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const check: CheckRecord = {
  Node: 'n1', CheckID: 'c1', Name: 'c1', Status: 'critical', Notes: 'keep me', Output: '', ServiceID: '', ServiceName: '',
  ServiceTags: [], Type: 'http', Definition: { HTTP: 'http://127.0.0.1:1/', IntervalMs: 1000 },
};

let fixture: TestCatalog;
let store: Store;
let catalog: Catalog;

beforeEach(async () => {
  ({ store, catalog } = fixture = await openTestCatalog('beacon-writer-'));
  await catalog.write([catalog.putCheckOp(check)]);
});
afterEach(async () => {
  await fixture.close();
});

describe('CheckWriter', () => {
  it('writes status changes at once, output-only changes at most once per interval (latest wins), nothing else', async () => {
    const writes: string[] = [];
    const w = new CheckWriter({ catalog, store, logger: quiet, outputUpdateIntervalMs: 300, onWrite: (k) => writes.push(k) }, 'n1', 'c1');
    await w.set({ status: 'passing', output: 'one' });
    expect(catalog.check('n1', 'c1')!.record).toMatchObject({ Status: 'passing', Output: 'one', Notes: 'keep me' });
    const rev = await store.currentRevision();
    await w.set({ status: 'passing', output: 'one' });
    expect(await store.currentRevision()).toBe(rev);
    // Output-only changes inside the interval are deferred; the latest one is written after it.
    await w.set({ status: 'passing', output: 'two' });
    await w.set({ status: 'passing', output: 'three' });
    expect(catalog.check('n1', 'c1')!.record.Output).toBe('one');
    await sleep(400);
    expect(catalog.check('n1', 'c1')!.record.Output).toBe('three');
    // A status change is not held back by the output interval.
    await w.set({ status: 'critical', output: 'down' });
    expect(catalog.check('n1', 'c1')!.record).toMatchObject({ Status: 'critical', Output: 'down' });
    expect(writes).toEqual(['status', 'output', 'status']);
    w.close();
  });

  it('writes nothing for a check that was deregistered', async () => {
    const w = new CheckWriter({ catalog, store, logger: quiet, outputUpdateIntervalMs: 0 }, 'n1', 'c1');
    await catalog.write([catalog.deleteCheckOp('n1', 'c1')]);
    const rev = await store.currentRevision();
    await w.set({ status: 'passing', output: '' });
    expect(await store.currentRevision()).toBe(rev);
    expect(catalog.check('n1', 'c1')).toBeUndefined();
  });
});
