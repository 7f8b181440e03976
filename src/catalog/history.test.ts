import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { HistoryCompactor } from './history.js';

let fixture: TestCatalog;
beforeEach(async () => {
  fixture = await openTestCatalog('beacon-history-');
});
afterEach(async () => {
  await fixture.close();
});

describe('HistoryCompactor', () => {
  it('compacts to current minus the kept revisions, only while active, and not twice to the same place', async () => {
    const { store } = fixture;
    const before = (await store.stats()).compactedRevision;
    for (let i = 0; i < 150; i++) await store.put(`history-test/${i % 3}`, String(i));
    let active = false;
    const c = new HistoryCompactor(store, { keepRevisions: 100, active: () => active });
    expect(await c.runOnce()).toBe(0);
    expect((await store.stats()).compactedRevision).toBe(before);
    active = true;
    const rev = await store.currentRevision();
    expect(await c.runOnce()).toBe(rev - 100);
    expect((await store.stats()).compactedRevision).toBe(rev - 100);
    expect(await c.runOnce()).toBe(0);
  });
});
