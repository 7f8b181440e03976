import { describe, expect, it } from 'vitest';
import { diffInstances, isEmptyChange } from './diff.js';
import type { ServiceInstance } from './types.js';

function inst(id: string, over: Partial<ServiceInstance> = {}): ServiceInstance {
  return {
    id,
    service: 'web',
    address: '10.0.0.1',
    port: 80,
    tags: ['a'],
    meta: { v: '1' },
    node: 'n1',
    datacenter: 'dc1',
    status: 'passing',
    weights: { passing: 1, warning: 1 },
    weight: 1,
    ...over,
  };
}

describe('diffInstances', () => {
  it('reports added, removed and changed instances by id', () => {
    const before = [inst('a'), inst('b'), inst('c')];
    const after = [inst('a'), inst('b', { port: 81 }), inst('d')];
    const d = diffInstances('web', before, after);
    expect(d.added.map((i) => i.id)).toEqual(['d']);
    expect(d.removed.map((i) => i.id)).toEqual(['c']);
    expect(d.changed.map((c) => [c.before.port, c.after.port])).toEqual([[80, 81]]);
    expect(d.instances).toBe(after);
  });

  it('sees every visible field change', () => {
    const base = inst('a');
    const variants: Array<Partial<ServiceInstance>> = [
      { address: '10.0.0.2' },
      { port: 1 },
      { status: 'warning' },
      { node: 'n2' },
      { datacenter: 'dc2' },
      { weight: 5 },
      { weights: { passing: 2, warning: 1 } },
      { weights: { passing: 1, warning: 3 } },
      { tags: ['a', 'b'] },
      { tags: ['b'] },
      { meta: { v: '2' } },
      { meta: { v: '1', w: '1' } },
      { meta: {} },
    ];
    for (const v of variants) expect(diffInstances('web', [base], [inst('a', v)]).changed).toHaveLength(1);
  });

  it('is empty when nothing visible changed, whatever the order or object identity', () => {
    const d = diffInstances('web', [inst('a'), inst('b')], [inst('b'), inst('a')]);
    expect(isEmptyChange(d)).toBe(true);
  });

  it('from nothing, everything is added; to nothing, everything is removed', () => {
    expect(diffInstances('web', [], [inst('a'), inst('b')]).added).toHaveLength(2);
    expect(diffInstances('web', [inst('a'), inst('b')], []).removed).toHaveLength(2);
  });
});
