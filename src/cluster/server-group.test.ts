import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { CatalogSessions, ServerRegistry } from '../catalog/index.js';
import { silentLogger } from '../config/index.js';
import type { Session } from '../health/index.js';
import { rendezvousOwner } from './rendezvous.js';
import { ServerGroup } from './server-group.js';

let fixture: TestCatalog;
const groups: ServerGroup[] = [];

beforeEach(async () => {
  fixture = await openTestCatalog('beacon-group-');
});
afterEach(async () => {
  for (const g of groups.splice(0)) g.stop();
  await fixture.close();
});

async function member(name: string, port: number): Promise<{ group: ServerGroup; session: Session; changes: () => number }> {
  const group = new ServerGroup({
    registry: new ServerRegistry(fixture.store),
    identity: { Node: name, Addr: '127.0.0.1', Datacenter: 'dc1', Version: 't' },
    logger: silentLogger,
  });
  groups.push(group);
  let n = 0;
  group.onChange(() => n++);
  await group.start();
  const session = await group.sessions(new CatalogSessions(fixture.store)).open(name, 10);
  // Not a member before it publishes its addresses: it owns nothing but its own node.
  expect(group.self()).toBeUndefined();
  expect(group.owns('elsewhere', 'c1')).toBe(false);
  expect(group.owns(name, 'serfHealth')).toBe(true);
  await group.publish({ http: `127.0.0.1:${port}`, dns: '' });
  return { group, session, changes: () => n };
}

const keys = Array.from({ length: 60 }, (_, i) => ({ node: `n${i % 4}`, check: `service:s${i}` }));

describe('ServerGroup', () => {
  it('the first to join leads; every member agrees on who owns each check; exactly one owns it', async () => {
    const a = await member('a', 1);
    const b = await member('b', 2);
    const c = await member('c', 3);
    for (const g of [a, b, c]) await expect.poll(() => g.group.members().length).toBe(3);
    for (const g of [a, b, c]) expect(g.group.leader()?.info.Node).toBe('a');
    expect(a.group.isLeader()).toBe(true);
    expect(b.group.isLeader()).toBe(false);
    for (const { node, check } of keys) {
      const owners = [a, b, c].filter((g) => g.group.owns(node, check)).map((g) => g.group.name);
      expect(owners).toHaveLength(1);
      expect(owners[0]).toBe(rendezvousOwner(`${node}\u0000${check}`, ['a', 'b', 'c']));
      for (const g of [a, b, c]) expect(g.group.ownerOf(node, check)?.info.Node).toBe(owners[0]);
    }
    // A live server's own node is its own, whatever the hash says.
    expect(b.group.owns('a', 'serfHealth')).toBe(false);
    expect(b.group.ownerOf('a', 'anything')?.info.Node).toBe('a');
  });

  it('a member whose session ends leaves: the others take its checks, a new leader follows', async () => {
    const a = await member('a', 1);
    const b = await member('b', 2);
    await expect.poll(() => b.group.members().length).toBe(2);
    const before = b.changes();
    await a.session.end({ revoke: true });
    await expect.poll(() => b.group.members().map((m) => m.info.Node)).toEqual(['b']);
    expect(b.changes()).toBeGreaterThan(before);
    expect(b.group.isLeader()).toBe(true);
    for (const { node, check } of keys) expect(b.group.owns(node, check)).toBe(true);
    // a, whose membership ended, owns nothing shared and holds no fence.
    await expect.poll(() => a.group.self()).toBeUndefined();
    expect(a.group.fence()).toBeUndefined();
    expect(keys.some(({ node, check }) => a.group.owns(node, check))).toBe(false);
  });

  it('cut off from the store past its TTL, a server hands its checks over and points heartbeats at the others; back, it takes them up', async () => {
    const a = await member('a', 1);
    const b = await member('b', 2);
    await expect.poll(() => a.group.members().length).toBe(2);
    const aOwned = keys.filter(({ node, check }) => a.group.owns(node, check));
    expect(aOwned.length).toBeGreaterThan(0);
    a.group.storeContact(false);
    expect(a.group.self()).toBeUndefined();
    expect(a.group.fence()).toBeUndefined();
    for (const { node, check } of keys) {
      expect(a.group.owns(node, check)).toBe(false);
      // Where a forwards a heartbeat: the owner b would have picked without a.
      expect(a.group.ownerOf(node, check)?.info.Node).toBe('b');
    }
    a.group.storeContact(true);
    expect(a.group.self()?.info.Node).toBe('a');
    for (const k of aOwned) expect(a.group.owns(k.node, k.check)).toBe(true);
    expect(b.group.members()).toHaveLength(2);
  });
});
