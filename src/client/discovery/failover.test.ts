import { describe, expect, it } from 'vitest';
import { isBeaconClientError } from '../client-error.js';
import { checkFailover, discoverWithFailover, snapshotFromQuery } from './failover.js';
import type { ServiceSnapshot } from './types.js';

const snap = (ports: number[], dc = 'dc1'): ServiceSnapshot => ({
  service: 'web',
  instances: ports.map((port) => ({ port, datacenter: dc }) as unknown as ServiceSnapshot['instances'][number]),
  stale: false,
  ageMs: 0,
  updatedAt: 1,
  error: undefined,
  index: 1,
});

describe('checkFailover', () => {
  it('takes a list of datacenters or a prepared query, and refuses anything else naming the option', () => {
    expect(checkFailover(undefined)).toBeUndefined();
    expect(checkFailover(['dc2'])).toEqual(['dc2']);
    expect(checkFailover({ query: 'pay' })).toEqual({ query: 'pay' });
    for (const bad of ['dc2', [''], [5], { query: '' }, {}, Array.from({ length: 65 }, () => 'x')]) {
      expect(() => checkFailover(bad)).toThrow(/failover/);
      try {
        checkFailover(bad);
      } catch (err) {
        expect(isBeaconClientError(err, 'BEACON_ERR_VALIDATION')).toBe(true);
      }
    }
  });
});

describe('discoverWithFailover', () => {
  it('answers from the local datacenter while it has instances, asking no other', async () => {
    const asked: string[] = [];
    const r = await discoverWithFailover(
      () => Promise.resolve(snap([1])),
      ['dc2'],
      (dc) => (asked.push(dc), Promise.resolve(snap([2], dc))),
    );
    expect([r.instances.map((i) => i.port), asked]).toEqual([[1], []]);
  });

  it('tries the datacenters in order, skipping ones that fail or are empty', async () => {
    const r = await discoverWithFailover(
      () => Promise.resolve(snap([])),
      ['dc2', 'dc3', 'dc4'],
      (dc) => (dc === 'dc2' ? Promise.reject(new Error('down')) : Promise.resolve(snap(dc === 'dc3' ? [] : [4], dc))),
    );
    expect(r.instances.map((i) => i.datacenter)).toEqual(['dc4']);
  });

  it('gives the local (empty) answer when no datacenter has one, and the local error when nothing answered', async () => {
    const empty = await discoverWithFailover(
      () => Promise.resolve(snap([])),
      ['dc2'],
      () => Promise.resolve(snap([], 'dc2')),
    );
    expect(empty.instances).toEqual([]);
    await expect(
      discoverWithFailover(
        () => Promise.reject(new Error('local down')),
        ['dc2'],
        () => Promise.reject(new Error('dc2 down')),
      ),
    ).rejects.toThrow('local down');
  });
});

describe('snapshotFromQuery', () => {
  it('turns an execute answer into a snapshot marked with the answering datacenter; refuses what is not one', () => {
    const s = snapshotFromQuery(
      'pay',
      {
        Service: 'pay',
        Datacenter: 'dc2',
        Nodes: [{ Node: { Node: 'n', Address: '10.0.0.2' }, Service: { ID: 'pay-2', Service: 'pay', Port: 9002, Tags: [] }, Checks: [] }],
      },
      7,
    );
    expect(s.instances.map((i) => [i.id, i.port, i.datacenter])).toEqual([['pay-2', 9002, 'dc2']]);
    expect(s.index).toBe(7);
    expect(() => snapshotFromQuery('pay', { Nodes: null }, undefined)).toThrow(/not a query result/);
  });
});
