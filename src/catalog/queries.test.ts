import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { isBeaconError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import { PreparedQueries, type PreparedQueryDefinition } from './queries.js';

let fixture: TestCatalog;
let store: Store;
let queries: PreparedQueries;

const def = (name: string, service = 'web'): PreparedQueryDefinition => ({
  Name: name,
  Session: '',
  Token: '',
  Service: {
    Service: service,
    Failover: { NearestN: 0, Datacenters: [] },
    OnlyPassing: false,
    IgnoreCheckIDs: [],
    Near: '',
    Tags: [],
    NodeMeta: {},
    ServiceMeta: {},
  },
  DNS: { TTL: '' },
});

beforeEach(async () => {
  ({ store } = fixture = await openTestCatalog('beacon-queries-'));
  queries = new PreparedQueries(store);
  await queries.start();
});
afterEach(async () => {
  queries.stop();
  await fixture.close();
});

describe('PreparedQueries', () => {
  it('creates, resolves by ID or name, replaces and deletes; a read right after a write sees it', async () => {
    const id = await queries.create(def('web-q'));
    expect(queries.get(id)).toMatchObject({ ID: id, Name: 'web-q' });
    expect(queries.resolve('web-q')?.ID).toBe(id);
    await queries.update(id, def('web-q2', 'api'));
    expect(queries.resolve('web-q')).toBeUndefined();
    expect(queries.resolve('web-q2')).toMatchObject({ ID: id, Service: { Service: 'api' } });
    const q = queries.get(id)!;
    expect(q.ModifyIndex).toBeGreaterThan(q.CreateIndex);
    await queries.delete(id);
    expect(queries.list()).toEqual([]);
  });

  it('keeps names unique: a second query of one name is refused, and a freed name can be taken again', async () => {
    const id = await queries.create(def('one'));
    await expect(queries.create(def('one'))).rejects.toSatisfy((e) => isBeaconError(e, 'BEACON_ERR_CONFLICT'));
    const other = await queries.create(def('two'));
    await expect(queries.update(other, def('one'))).rejects.toSatisfy((e) => isBeaconError(e, 'BEACON_ERR_CONFLICT'));
    expect(queries.get(other)?.Name).toBe('two');
    await queries.delete(id);
    await queries.update(other, def('one'));
    expect(queries.resolve('one')?.ID).toBe(other);
    // Unnamed queries never collide.
    await queries.create(def(''));
    await queries.create(def(''));
    expect(queries.list()).toHaveLength(3);
  });

  it('answers Query not found for an unknown ID', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    await expect(queries.update(missing, def('x'))).rejects.toSatisfy((e) => isBeaconError(e, 'BEACON_ERR_NOT_FOUND'));
    await expect(queries.delete(missing)).rejects.toSatisfy((e) => isBeaconError(e, 'BEACON_ERR_NOT_FOUND'));
  });

  it('a second view over the same store (another server) sees the same queries', async () => {
    const id = await queries.create(def('shared'));
    const other = new PreparedQueries(store);
    await other.start();
    try {
      expect(other.resolve('shared')?.ID).toBe(id);
    } finally {
      other.stop();
    }
  });
});
