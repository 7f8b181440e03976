import { describe, expect, it } from 'vitest';
import type { PreparedQuery } from '../../catalog/index.js';
import { executeQuery, failoverOrder, filterEntries, type HealthEntryLike } from './prepared-query.js';

const entry = (id: string, statuses: string[], tags: string[] = [], meta: Record<string, string> = {}): HealthEntryLike => ({
  Node: { Node: `n-${id}`, Address: '10.0.0.1', Meta: { rack: 'r1' } },
  Service: { ID: id, Service: 'web', Tags: tags, Address: '', Port: 80, Meta: meta },
  Checks: statuses.map((s, i) => ({ CheckID: `c${i}`, Status: s })),
});

const query = (service: Partial<PreparedQuery['Service']> = {}): PreparedQuery => ({
  ID: 'id',
  Name: 'q',
  Session: '',
  Token: '',
  CreateIndex: 1,
  ModifyIndex: 1,
  DNS: { TTL: '' },
  Service: {
    Service: 'web',
    Failover: { NearestN: 0, Datacenters: [] },
    OnlyPassing: false,
    IgnoreCheckIDs: [],
    Near: '',
    Tags: [],
    NodeMeta: {},
    ServiceMeta: {},
    ...service,
  },
});

describe('filterEntries', () => {
  const entries = [
    entry('ok', ['passing']),
    entry('warn', ['passing', 'warning'], ['V1']),
    entry('dead', ['critical'], ['v1']),
    entry('canary', ['passing'], ['v1', 'canary']),
  ];

  it('drops critical instances; OnlyPassing drops warning ones too; IgnoreCheckIDs skips checks', () => {
    expect(filterEntries(entries, query().Service).map((e) => e.Service.ID)).toEqual(['ok', 'warn', 'canary']);
    expect(filterEntries(entries, query({ OnlyPassing: true }).Service).map((e) => e.Service.ID)).toEqual(['ok', 'canary']);
    expect(filterEntries(entries, query({ IgnoreCheckIDs: ['c0'] }).Service).map((e) => e.Service.ID)).toEqual(['ok', 'warn', 'dead', 'canary']);
  });

  it('needs every tag and none of the !tags, case-insensitively, and every meta pair', () => {
    expect(filterEntries(entries, query({ Tags: ['v1'] }).Service).map((e) => e.Service.ID)).toEqual(['warn', 'canary']);
    expect(filterEntries(entries, query({ Tags: ['v1', '!CANARY'] }).Service).map((e) => e.Service.ID)).toEqual(['warn']);
    expect(filterEntries(entries, query({ NodeMeta: { rack: 'r2' } }).Service)).toEqual([]);
    expect(filterEntries([entry('m', ['passing'], [], { env: 'prod' })], query({ ServiceMeta: { env: 'prod' } }).Service)).toHaveLength(1);
  });
});

describe('failoverOrder', () => {
  it('takes the NearestN nearest other datacenters, then the listed ones; no local, unknown or repeated ones', () => {
    const nearest = ['dc1', 'dc3', 'dc2', 'dc4'];
    const known = (dc: string) => nearest.includes(dc);
    expect(failoverOrder({ NearestN: 2, Datacenters: ['dc4', 'dc3', 'dc1', 'dc9'] }, nearest, 'dc1', known)).toEqual(['dc3', 'dc2', 'dc4']);
    expect(failoverOrder({ NearestN: 0, Datacenters: ['dc2'] }, nearest, 'dc1', known)).toEqual(['dc2']);
    expect(failoverOrder({ NearestN: 10, Datacenters: [] }, nearest, 'dc1', known)).toEqual(['dc3', 'dc2', 'dc4']);
  });
});

describe('executeQuery', () => {
  const runner = (local: HealthEntryLike[], remote: Record<string, HealthEntryLike[] | Error>) => ({
    local: 'dc1',
    localEntries: () => local,
    datacenters: () => ['dc1', 'dc2', 'dc3'],
    known: (dc: string) => ['dc1', 'dc2', 'dc3'].includes(dc),
    remoteEntries: (dc: string) => {
      const r = remote[dc];
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r ?? []);
    },
  });

  it('answers locally while a local instance is healthy', async () => {
    const r = await executeQuery(query({ Failover: { NearestN: 2, Datacenters: [] } }), runner([entry('a', ['passing'])], { dc2: [entry('b', ['passing'])] }));
    expect([r.Datacenter, r.Failovers, r.Nodes.map((n) => n.Service.ID)]).toEqual(['dc1', 0, ['a']]);
  });

  it('fails over in order, skipping datacenters that error or have none, and says how many it tried', async () => {
    const q = query({ Failover: { NearestN: 0, Datacenters: ['dc2', 'dc3'] } });
    const r = await executeQuery(q, runner([entry('a', ['critical'])], { dc2: new Error('unreachable'), dc3: [entry('c', ['passing'])] }));
    expect([r.Datacenter, r.Failovers, r.Nodes.map((n) => n.Service.ID)]).toEqual(['dc3', 2, ['c']]);
    const none = await executeQuery(q, runner([], { dc2: [entry('x', ['critical'])], dc3: [] }));
    expect([none.Nodes, none.Failovers]).toEqual([[], 2]);
  });

  it('cuts the answer to limit', async () => {
    const r = await executeQuery(query(), runner([entry('a', ['passing']), entry('b', ['passing']), entry('c', ['passing'])], {}), 2);
    expect(r.Nodes).toHaveLength(2);
  });
});
