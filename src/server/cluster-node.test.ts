/**
 * ClusterNode's TTL path on its own, with a stand-in server group: which answer a heartbeat gets
 * while the group names this server the owner of a check it does not (yet) run.
 */
import { describe, expect, it } from 'vitest';
import type { Catalog } from '../catalog/index.js';
import type { ServerGroup, TtlForwarder } from '../cluster/index.js';
import { BeaconError } from '../errors/index.js';
import { ClusterNode } from './cluster-node.js';

function nodeWith(group: { owns: boolean }, health: { calls: string[] }): ClusterNode {
  const me = { info: { Node: 'beacon-1', Http: '127.0.0.1:1' } };
  const fakeGroup = { name: 'beacon-1', ownerOf: () => me, owns: () => group.owns };
  return new ClusterNode({
    catalog: {} as Catalog,
    health: {
      updateTtl: (_node: string, checkId: string) => {
        health.calls.push(checkId);
        return group.owns
          ? Promise.resolve()
          : Promise.reject(new BeaconError('BEACON_ERR_CHECK_NOT_TTL', `CheckID "${checkId}" does not have associated TTL`));
      },
    },
    group: fakeGroup as unknown as ServerGroup,
    forwarder: {} as TtlForwarder,
    datacenter: 'dc1',
    advertiseAddr: '127.0.0.1',
    enableScriptChecks: false,
  });
}

describe('ClusterNode.updateTtl', () => {
  it('applies a heartbeat here when this server is the owner and a member', async () => {
    const health = { calls: [] as string[] };
    await nodeWith({ owns: true }, health).updateTtl('service:web-1', 'passing', '');
    expect(health.calls).toEqual(['service:web-1']);
  });

  it('answers BEACON_ERR_NOT_OWNER (retryable), not CHECK_NOT_TTL, while named the owner without a membership', async () => {
    const health = { calls: [] as string[] };
    await expect(nodeWith({ owns: false }, health).updateTtl('service:web-1', 'passing', '')).rejects.toMatchObject({ code: 'BEACON_ERR_NOT_OWNER' });
    expect(health.calls).toEqual([]);
  });

  function forwardingNode(opts: { cutOff: boolean; answer: BeaconError | undefined }) {
    const sent: string[] = [];
    const other = { info: { Node: 'beacon-2', Http: '127.0.0.1:2' } };
    const fakeGroup = { name: 'beacon-1', isCutOff: opts.cutOff, ownerOf: () => other, owns: () => false };
    const node = new ClusterNode({
      catalog: {} as Catalog,
      health: { updateTtl: () => Promise.reject(new Error('not the owner: must not run here')) },
      group: fakeGroup as unknown as ServerGroup,
      forwarder: {
        send: (peer: string, u: { CheckID: string }) => {
          sent.push(`${peer} ${u.CheckID}`);
          return opts.answer ? Promise.reject(opts.answer) : Promise.resolve();
        },
      } as unknown as TtlForwarder,
      datacenter: 'dc1',
      advertiseAddr: '127.0.0.1',
      enableScriptChecks: false,
    });
    return { node, sent };
  }

  it('forwards a heartbeat to the owner, and passes the owner’s refusal on', async () => {
    const ok = forwardingNode({ cutOff: false, answer: undefined });
    await ok.node.updateTtl('service:web-1', 'passing', '');
    expect(ok.sent).toEqual(['127.0.0.1:2 service:web-1']);
    const refused = forwardingNode({ cutOff: false, answer: new BeaconError('BEACON_ERR_NOT_OWNER', 'moving') });
    await expect(refused.node.updateTtl('service:web-1', 'passing', '')).rejects.toMatchObject({ code: 'BEACON_ERR_NOT_OWNER' });
  });

  it('takes a heartbeat while the whole group is cut off from the store (the owner is cut off too), not before', async () => {
    const outage = forwardingNode({ cutOff: true, answer: new BeaconError('BEACON_ERR_NOT_OWNER', 'cut off too') });
    await outage.node.updateTtl('service:web-1', 'passing', '');
    expect(outage.sent).toHaveLength(1);
    const unreachable = forwardingNode({ cutOff: true, answer: new BeaconError('BEACON_ERR_PEER_UNAVAILABLE', 'down') });
    await expect(unreachable.node.updateTtl('service:web-1', 'passing', '')).rejects.toMatchObject({ code: 'BEACON_ERR_PEER_UNAVAILABLE' });
  });
});
