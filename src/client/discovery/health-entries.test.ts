import { describe, expect, it } from 'vitest';
import { aggregateStatus, instanceWeight, parseHealthEntries } from './health-entries.js';

const entry = (id: string, svc: Record<string, unknown> = {}, checks: string[] = ['passing'], node: Record<string, unknown> = {}) => ({
  Node: { Node: 'n1', Address: '10.1.1.1', Datacenter: 'dc1', ...node },
  Service: { ID: id, Service: 'web', Address: '10.0.0.1', Port: 80, Tags: ['v2'], Meta: { a: 'b' }, Weights: { Passing: 10, Warning: 2 }, ...svc },
  Checks: checks.map((Status, i) => ({ CheckID: `c${i}`, Status })),
});

describe('parseHealthEntries', () => {
  it('maps Consul entries to instances, sorted by id', () => {
    const out = parseHealthEntries([entry('b'), entry('a', { Address: '' })]);
    expect(out.map((i) => i.id)).toEqual(['a', 'b']);
    expect(out[0]).toMatchObject({
      service: 'web',
      address: '10.1.1.1',
      port: 80,
      tags: ['v2'],
      meta: { a: 'b' },
      node: 'n1',
      datacenter: 'dc1',
      status: 'passing',
      weight: 10,
    });
    expect(out[1].address).toBe('10.0.0.1');
  });

  it('drops critical and maintenance instances, weighs warning ones by Weights.Warning', () => {
    const out = parseHealthEntries([entry('a', {}, ['passing', 'critical']), entry('b', {}, ['maintenance']), entry('c', {}, ['passing', 'warning'])]);
    expect(out.map((i) => [i.id, i.status, i.weight])).toEqual([['c', 'warning', 2]]);
  });

  it('defaults missing weights to 1 and skips malformed entries', () => {
    const out = parseHealthEntries([
      entry('a', { Weights: undefined }),
      { Service: null },
      entry('x', { Port: 'eighty' }),
      'junk',
      entry('y', { Address: '' }, ['passing'], { Address: '' }),
    ]);
    expect(out.map((i) => [i.id, i.weight])).toEqual([['a', 1]]);
    expect(parseHealthEntries(null)).toEqual([]);
  });

  it('makes ids unique when the same service id is on two nodes', () => {
    const out = parseHealthEntries([entry('web-1', {}, ['passing'], { Node: 'n1' }), entry('web-1', {}, ['passing'], { Node: 'n2' })]);
    expect(out.map((i) => i.id)).toEqual(['web-1@n1', 'web-1@n2']);
  });

  it('aggregates status like Consul', () => {
    expect(aggregateStatus([])).toBe('passing');
    expect(aggregateStatus([{ Status: 'warning' }, { Status: 'passing' }])).toBe('warning');
    expect(aggregateStatus([{ Status: 'warning' }, { Status: 'critical' }])).toBe('critical');
    expect(instanceWeight({ passing: 10, warning: 1 }, 'warning')).toBe(1);
    expect(instanceWeight(undefined, 'passing')).toBe(1);
  });
});
