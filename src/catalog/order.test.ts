/**
 * Answers list instances and services in one order on every server — Consul's: services by
 * name, instances by node and then service ID — whatever order the records reached a server's
 * view in. A server that watched the registrations arrive and one that started later (or
 * re-listed after a compaction) and loaded them in key order must answer the same bytes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { Catalog } from './catalog.js';
import type { CheckRecord, NodeRecord, ServiceRecord } from './types.js';

const nodeRec = (name: string): NodeRecord => ({ ID: '', Node: name, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} });
const svc = (id: string, name: string, tags: string[]): ServiceRecord => ({
  ID: id,
  Service: name,
  Tags: tags,
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
});
const check = (node: string, serviceId: string, name: string): CheckRecord => ({
  Node: node,
  CheckID: `service:${serviceId}`,
  Name: 'ttl',
  Status: 'passing',
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: name,
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 10_000 },
});

describe('the order of instances and services', () => {
  let fixture: TestCatalog;
  const later: Catalog[] = [];

  beforeEach(async () => {
    fixture = await openTestCatalog('beacon-order-');
  });
  afterEach(async () => {
    for (const c of later.splice(0)) c.stop();
    await fixture.close();
  });

  it('is by node and service ID, services by name, the same on a catalog that loaded them later', async () => {
    const cmd = fixture.catalog.commands;
    // Arrival order unlike key order: node b before a, web-2 before web-10 before web-1, zeta before alpha.
    await cmd.registerNodeWith(nodeRec('b'), [], []);
    await cmd.registerNodeWith(nodeRec('a'), [], []);
    const arrivals: [string, string, string, string[]][] = [
      ['b', 'web-2', 'web', ['blue']],
      ['a', 'web-10', 'web', ['green']],
      ['b', 'web-1', 'web', ['red']],
      ['a', 'web-1', 'web', ['amber']],
      ['a', 'zeta-1', 'zeta', []],
      ['b', 'alpha-1', 'alpha', []],
    ];
    for (const [node, id, name, tags] of arrivals) await cmd.registerService(node, svc(id, name, tags), [check(node, id, name)]);

    const restarted = new Catalog(fixture.store, { datacenter: 'dc1' });
    later.push(restarted);
    await restarted.start();

    for (const c of [fixture.catalog, restarted]) {
      expect(c.instances('web').value.map((i) => `${i.node.record.Node}/${i.service.record.ID}`)).toEqual(['a/web-1', 'a/web-10', 'b/web-1', 'b/web-2']);
      expect(c.serviceChecks('web').value.map((x) => `${x.record.Node}/${x.record.CheckID}`)).toEqual([
        'a/service:web-1',
        'a/service:web-10',
        'b/service:web-1',
        'b/service:web-2',
      ]);
      expect([...c.services().value]).toEqual([
        ['alpha', []],
        ['web', ['amber', 'green', 'red', 'blue']],
        ['zeta', []],
      ]);
    }
  });
});
