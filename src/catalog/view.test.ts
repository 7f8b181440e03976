import { describe, expect, it } from 'vitest';
import { NO_LEASE, type KeyValue, type WatchEvent } from '../store/index.js';
import { checkKey, nodeKey, serviceKey } from './keys.js';
import type { CheckRecord, NodeRecord, ServiceRecord, Topic } from './types.js';
import { CatalogView, findCheck } from './view.js';

let rev = 1;
const put = (key: string, value: unknown): WatchEvent => {
  rev++;
  const kv: KeyValue = { key, value: JSON.stringify(value), createRevision: rev, modRevision: rev, version: 1, lease: NO_LEASE };
  return { type: 'put', kv };
};
const node = (name: string): NodeRecord => ({ ID: '', Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} });
const svc = (id: string, name: string, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({
  ID: id,
  Service: name,
  Tags: ['primary', 'v2'],
  Address: '',
  TaggedAddresses: {},
  Meta: { version: '2.4.1' },
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
  ...extra,
});
const check = (n: string, id: string, serviceId: string, tags: string[]): CheckRecord => ({
  Node: n,
  CheckID: id,
  Name: id,
  Status: 'passing',
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: serviceId,
  ServiceTags: tags,
  Type: '',
  Definition: {},
});

function viewOf(events: WatchEvent[]): CatalogView {
  const v = new CatalogView();
  const topics = new Set<Topic>();
  for (const ev of events) v.apply(ev, topics);
  return v;
}

describe('CatalogView: shared sub-objects of records', () => {
  it('shares empty, default and equal sub-objects, frozen, without changing any record', () => {
    const records = {
      n1: node('n1'),
      n2: node('n2'),
      a: svc('a', 'web'),
      b: svc('b', 'web'),
      c: svc('c', 'web', { Tags: ['v3'], Meta: { version: '3' }, Weights: { Passing: 3, Warning: 1 } }),
      ca: check('n1', 'ca', 'a', ['primary', 'v2']),
      cn: check('n1', 'cn', '', []),
    };
    const v = viewOf([
      put(nodeKey('n1'), records.n1),
      put(nodeKey('n2'), records.n2),
      put(serviceKey('n1', 'a'), records.a),
      put(serviceKey('n2', 'b'), records.b),
      put(serviceKey('n2', 'c'), records.c),
      put(checkKey('n1', 'ca'), records.ca),
      put(checkKey('n1', 'cn'), records.cn),
    ]);
    const n1 = v.nodes.get('n1')!;
    const n2 = v.nodes.get('n2')!;
    const [a, b, c] = [n1.services.get('a')!.record, n2.services.get('b')!.record, n2.services.get('c')!.record];
    const [ca, cn] = [findCheck(n1, 'ca')!.record, findCheck(n1, 'cn')!.record];

    // Every record still says exactly what was written.
    expect(JSON.stringify(n1.node!.record)).toBe(JSON.stringify(records.n1));
    expect([a, b, c, ca, cn].map((r) => JSON.stringify(r))).toEqual([records.a, records.b, records.c, records.ca, records.cn].map((r) => JSON.stringify(r)));

    expect(n1.node!.record.Meta).toBe(n2.node!.record.Meta);
    expect(a.TaggedAddresses).toBe(n1.node!.record.TaggedAddresses);
    expect(ca.Definition).toBe(a.TaggedAddresses);
    expect(b.Tags).toBe(a.Tags);
    expect(b.Meta).toBe(a.Meta);
    expect(b.Weights).toBe(a.Weights);
    expect(ca.ServiceTags).toBe(a.Tags);
    expect(cn.ServiceTags).toEqual([]);
    // Different contents are not shared.
    expect(c.Tags).not.toBe(a.Tags);
    expect(c.Meta).not.toBe(a.Meta);
    expect(c.Weights).not.toBe(a.Weights);
    // A shared object cannot be written through one record.
    for (const shared of [a.Tags, a.Meta, a.Weights, a.TaggedAddresses, cn.ServiceTags]) expect(Object.isFrozen(shared)).toBe(true);
    expect(() => a.Tags.push('x')).toThrow(TypeError);
    expect(b.Tags).toEqual(['primary', 'v2']);
  });

  it('shares tags with the previous version of a re-registered instance, and meta only in the same key order', () => {
    const v = viewOf([put(nodeKey('n'), node('n')), put(serviceKey('n', 'a'), svc('a', 'web', { Meta: { x: '1', y: '2' } }))]);
    const first = v.nodes.get('n')!.services.get('a')!.record;
    v.apply(put(serviceKey('n', 'a'), svc('a', 'web', { Meta: { y: '2', x: '1' }, Port: 81 })), new Set());
    const second = v.nodes.get('n')!.services.get('a')!.record;
    expect(second.Port).toBe(81);
    expect(second.Tags).toBe(first.Tags);
    expect(second.Meta).not.toBe(first.Meta);
    expect(Object.keys(second.Meta)).toEqual(['y', 'x']);
  });
});
