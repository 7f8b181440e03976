import { describe, expect, it } from 'vitest';
import { MAX_SERVERS_PER_DC, WanMemberTable, type WanServer } from './member-table.js';

const srv = (node: string, dc: string, port = 8500): WanServer => ({
  Node: node,
  Datacenter: dc,
  Addr: '127.0.0.1',
  Http: `127.0.0.1:${port}`,
  Dns: '',
  Version: '1',
});
const self = srv('s1', 'dc1', 1);
const table = () => new WanMemberTable('dc1', () => [self]);

describe('WanMemberTable', () => {
  it('lists the local datacenter first, then by median RTT, unmeasured and unreachable ones last, ties by name', () => {
    const t = table();
    t.learn('dc2', [srv('a', 'dc2')], true);
    t.learn('dc3', [srv('b', 'dc3')], true);
    t.learn('dc4', [srv('c', 'dc4')], true);
    t.learn('dc0', [srv('d', 'dc0')], true);
    expect(t.datacenters()).toEqual(['dc1', 'dc0', 'dc2', 'dc3', 'dc4']);
    for (const ms of [30, 31, 500]) t.succeeded('dc2', 'a', ms); // one outlier: the median holds
    for (const ms of [40, 41, 42]) t.succeeded('dc3', 'b', ms);
    t.succeeded('dc4', 'c', 1);
    t.failed('dc4', 'c');
    expect(t.rtt('dc2')).toBe(31);
    expect(t.datacenters()).toEqual(['dc1', 'dc2', 'dc3', 'dc0', 'dc4']);
    expect(t.reachable('dc4')).toBe(false);
    t.succeeded('dc4', 'c');
    expect(t.datacenters()[1]).toBe('dc4');
  });

  it("takes a datacenter's own list of its servers over hearsay, and drops servers it no longer lists", () => {
    const t = table();
    t.learn('dc2', [srv('a', 'dc2'), srv('b', 'dc2')], false);
    expect(t.serversToTry('dc2').map((s) => s.Node)).toEqual(['a', 'b']);
    t.learn('dc2', [srv('b', 'dc2', 9)], true);
    expect(t.serversToTry('dc2')).toEqual([srv('b', 'dc2', 9)]);
    // Second hand, after first hand: ignored (it cannot bring back a dropped server).
    t.learn('dc2', [srv('a', 'dc2')], false);
    expect(t.serversToTry('dc2').map((s) => s.Node)).toEqual(['b']);
    // Entries naming another datacenter, and the local one, are not taken.
    t.learn('dc2', [srv('x', 'dc9')], true);
    t.learn('dc1', [srv('y', 'dc1')], true);
    expect(t.has('dc9')).toBe(false);
    expect(t.view()[0].servers.map((s) => s.Node)).toEqual(['s1']);
  });

  it('marks a datacenter unreachable only when every server failed, and tries answering servers first, fastest first', () => {
    const t = table();
    t.learn('dc2', [srv('a', 'dc2', 1), srv('b', 'dc2', 2), srv('c', 'dc2', 3)], true);
    t.succeeded('dc2', 'a', 50);
    t.succeeded('dc2', 'b', 5);
    t.failed('dc2', 'c');
    expect(t.serversToTry('dc2').map((s) => s.Node)).toEqual(['b', 'a', 'c']);
    t.failed('dc2', 'b');
    expect(t.reachable('dc2')).toBe(true);
    t.failed('dc2', 'a');
    expect(t.reachable('dc2')).toBe(false);
    expect(
      t
        .view()
        .find((v) => v.name === 'dc2')
        ?.servers.map((s) => s.status),
    ).toEqual(['failed', 'failed', 'failed']);
  });

  it('is bounded: at most 64 servers per datacenter', () => {
    const t = table();
    t.learn(
      'dc2',
      Array.from({ length: 100 }, (_, i) => srv(`n${i}`, 'dc2', i + 1)),
      true,
    );
    expect(t.serversToTry('dc2')).toHaveLength(MAX_SERVERS_PER_DC);
    expect(t.known()).toHaveLength(MAX_SERVERS_PER_DC + 1);
  });

  it('counts a version on membership and reachability changes, not on RTT samples', () => {
    const t = table();
    t.learn('dc2', [srv('a', 'dc2')], true);
    const v = t.version;
    t.succeeded('dc2', 'a', 3);
    expect(t.version).toBe(v);
    t.failed('dc2', 'a');
    expect(t.version).toBe(v + 1);
  });
});
