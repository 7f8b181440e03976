import { randomUUID } from 'node:crypto';
import type { Catalog, CheckRecord, NodeRecord, ServiceRecord } from '../catalog/index.js';
import type { RuntimeConfig } from '../config/index.js';

export const SERF_CHECK_ID = 'serfHealth';

/**
 * Registers this server in its own catalog, as Consul servers do: its node (keeping the node
 * ID across restarts), the `consul` service on port 8300 (so consul.service.consul finds the
 * servers) and the node's `serfHealth` check.
 */
export async function registerSelf(catalog: Catalog, config: RuntimeConfig): Promise<void> {
  const existing = catalog.node(config.node).value?.node.record;
  const addr = config.advertiseAddr;
  const node: NodeRecord = {
    ID: existing?.ID ?? randomUUID(),
    Node: config.node,
    Address: addr,
    Datacenter: config.datacenter,
    TaggedAddresses: { lan: addr, lan_ipv4: addr, wan: addr, wan_ipv4: addr },
    Meta: { ...(existing?.Meta ?? {}), 'consul-network-segment': '' },
  };
  const consul: ServiceRecord = {
    ID: 'consul', Service: 'consul', Tags: [], Address: '', TaggedAddresses: {}, Meta: {}, Port: 8300,
    Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Kind: '',
  };
  const serf: CheckRecord = {
    Node: config.node, CheckID: SERF_CHECK_ID, Name: 'Serf Health Status', Status: 'passing', Notes: '',
    Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', Definition: {},
  };
  await catalog.write([catalog.putNodeOp(node), catalog.putServiceOp(config.node, consul), catalog.putCheckOp(serf)]);
}
