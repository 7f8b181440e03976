/**
 * The real `consul` npm client against a real `beacon server` process: register, list, health,
 * blocking queries, deregister, error texts.
 */
import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let consul: Consul;

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  consul = new Consul({ host: server.httpHost, port: server.httpPort });
});
afterAll(async () => {
  await server?.stop();
});

describe('consul npm client against beacon', () => {
  it('registers a service and lists it in the catalog', async () => {
    await consul.agent.service.register({
      name: 'payments',
      id: 'payments-1',
      address: '127.0.0.1',
      port: 9001,
      tags: ['v2', 'primary'],
      meta: { version: '2.1' },
    });
    const services = (await consul.catalog.service.list()) as Record<string, string[]>;
    expect(services.payments?.sort()).toEqual(['primary', 'v2']);
    expect(services.consul).toEqual([]);

    const nodes = (await consul.catalog.service.nodes('payments')) as Array<Record<string, unknown>>;
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({
      ServiceID: 'payments-1',
      ServiceName: 'payments',
      ServicePort: 9001,
      ServiceAddress: '127.0.0.1',
      ServiceTags: ['v2', 'primary'],
      ServiceMeta: { version: '2.1' },
      Node: 'test-node',
    });

    const agentServices = (await consul.agent.service.list()) as Record<string, Record<string, unknown>>;
    expect(agentServices['payments-1']).toMatchObject({
      ID: 'payments-1',
      Service: 'payments',
      Port: 9001,
      Weights: { Passing: 1, Warning: 1 },
      Datacenter: 'dc1',
    });
  });

  it('answers health entries with node, service and checks, filtered by tag and passing', async () => {
    await consul.agent.service.register({ name: 'payments', id: 'payments-2', address: '127.0.0.2', port: 9002, tags: ['v1'] });
    const all = (await consul.health.service({ service: 'payments' })) as Array<{
      Service: { ID: string };
      Checks: Array<{ CheckID: string; Status: string }>;
    }>;
    expect(all.map((e) => e.Service.ID).sort()).toEqual(['payments-1', 'payments-2']);
    expect(all[0].Checks.map((c) => c.CheckID)).toContain('serfHealth');

    const v2 = (await consul.health.service({ service: 'payments', tag: 'v2', passing: true })) as Array<{ Service: { ID: string } }>;
    expect(v2.map((e) => e.Service.ID)).toEqual(['payments-1']);

    const none = (await consul.health.service({ service: 'payments', tag: ['v2', 'v1'] } as never)) as unknown[];
    expect(none).toEqual([]);
  });

  it('a service registered with a critical check leaves ?passing but stays registered', async () => {
    await consul.agent.service.register({ name: 'ledger', id: 'ledger-1', port: 9100, check: { ttl: '30s', status: 'critical' } as never });
    const passing = (await consul.health.service({ service: 'ledger', passing: true })) as unknown[];
    expect(passing).toEqual([]);
    const everyone = (await consul.health.service({ service: 'ledger' })) as Array<{ Checks: Array<{ CheckID: string; Status: string }> }>;
    expect(everyone).toHaveLength(1);
    expect(everyone[0].Checks.find((c) => c.CheckID === 'service:ledger-1')?.Status).toBe('critical');
    const checks = (await consul.health.checks('ledger')) as Array<{ CheckID: string }>;
    expect(checks.map((c) => c.CheckID)).toEqual(['service:ledger-1']);
    const critical = (await consul.health.state('critical')) as Array<{ CheckID: string }>;
    expect(critical.map((c) => c.CheckID)).toContain('service:ledger-1');
  });

  it('serves agent/self with the datacenter and node, members, status and datacenters', async () => {
    const self = (await consul.agent.self()) as { Config: { Datacenter: string; NodeName: string; Server: boolean }; Member: { Name: string } };
    expect(self.Config).toMatchObject({ Datacenter: 'dc1', NodeName: 'test-node', Server: true });
    expect(self.Member.Name).toBe('test-node');
    expect(((await consul.agent.members()) as Array<{ Name: string }>).map((m) => m.Name)).toEqual(['test-node']);
    expect(await consul.status.leader()).toMatch(/:8300$/);
    expect(await consul.status.peers()).toHaveLength(1);
    expect(await consul.catalog.datacenters()).toEqual(['dc1']);
    const node = (await consul.catalog.node.services('test-node')) as { Node: { Node: string }; Services: Record<string, unknown> };
    expect(node.Node.Node).toBe('test-node');
    expect(Object.keys(node.Services).sort()).toEqual(['consul', 'ledger-1', 'payments-1', 'payments-2']);
    const health = (await consul.health.node('test-node')) as Array<{ CheckID: string; Status: string }>;
    expect(health.find((c) => c.CheckID === 'serfHealth')?.Status).toBe('passing');
  });

  it('a blocking query (consul.watch) is woken by a change', async () => {
    // The query waits 60 s: a change seen well inside that (the generous bound below) came from
    // the query it woke, not from the wait running out.
    const watch = consul.watch({ method: consul.health.service.bind(consul.health), options: { service: 'search', wait: '60s' } });
    const changes: string[][] = [];
    watch.on('change', (data: Array<{ Service: { ID: string } }>) => changes.push(data.map((d) => d.Service.ID)));
    try {
      await waitFor(() => changes.length >= 1, 15_000);
      expect(changes[0]).not.toContain('search-1');
      // Let the watch re-arm its blocking query before changing anything.
      await new Promise((r) => setTimeout(r, 300));
      await consul.agent.service.register({ name: 'search', id: 'search-1', port: 9200 });
      await waitFor(() => changes.some((ids) => ids.includes('search-1')), 15_000);
    } finally {
      watch.end();
    }
  });

  it('deregisters (and deregistering an unknown ID is a no-op)', async () => {
    await consul.agent.service.deregister('payments-2');
    await consul.agent.service.deregister('never-registered');
    const nodes = (await consul.catalog.service.nodes('payments')) as Array<{ ServiceID: string }>;
    expect(nodes.map((n) => n.ServiceID)).toEqual(['payments-1']);
  });

  it('registers and deregisters external nodes through the catalog API', async () => {
    await consul.catalog.register({
      node: 'ext-1',
      address: '10.1.2.3',
      nodemeta: { rack: 'r1' },
      service: { service: 'db', id: 'db-1', port: 5432, tags: ['primary'] },
      check: { name: 'db alive', status: 'passing', serviceid: 'db-1' },
    } as never);
    const nodes = (await consul.catalog.node.list()) as Array<{ Node: string; Meta: Record<string, string> }>;
    expect(nodes.find((n) => n.Node === 'ext-1')?.Meta).toEqual({ rack: 'r1' });
    const db = (await consul.health.service({ service: 'db', passing: true })) as Array<{ Node: { Node: string; Address: string } }>;
    expect(db.map((e) => e.Node.Node)).toEqual(['ext-1']);
    await consul.catalog.deregister({ node: 'ext-1' } as never);
    expect(await consul.catalog.service.nodes('db')).toEqual([]);
    expect(await consul.catalog.node.services('ext-1')).toBeFalsy();
    // Consul answers an unknown node with a JSON null body.
    const raw = await fetch(`${server.httpUrl}/v1/catalog/node/ext-1`);
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe('null');
  });

  it("surfaces Consul's error texts to the client", async () => {
    await expect(consul.agent.check.pass('no-such-check')).rejects.toThrow(/does not have associated TTL/);
    await expect(consul.catalog.service.list({ dc: 'elsewhere' } as never)).rejects.toThrow(/No path to datacenter/);
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
