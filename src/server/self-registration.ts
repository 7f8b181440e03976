import { randomUUID } from 'node:crypto';
import type { Catalog, CheckRecord, NodeRecord, ServiceRecord } from '../catalog/index.js';
import type { RuntimeConfig } from '../config/index.js';

export const SERF_CHECK_ID = 'serfHealth';

/** This server's node record: its name and address, keeping the node ID across restarts. */
export function selfNodeRecord(catalog: Catalog, config: RuntimeConfig): NodeRecord {
  const existing = catalog.nodeRecord(config.node)?.record;
  const addr = config.advertiseAddr;
  return {
    ID: existing?.ID ?? randomUUID(),
    Node: config.node,
    Address: addr,
    Datacenter: config.datacenter,
    TaggedAddresses: { lan: addr, lan_ipv4: addr, wan: addr, wan_ipv4: addr },
    Meta: { ...(existing?.Meta ?? {}), 'consul-network-segment': '' },
  };
}

/**
 * Registers this server in its own catalog, as Consul servers do: its node, the `consul`
 * service on port 8300 (so consul.service.consul finds the servers) and the node's
 * `serfHealth` check. Returns the node record.
 */
export async function registerSelf(catalog: Catalog, config: RuntimeConfig): Promise<NodeRecord> {
  const node = selfNodeRecord(catalog, config);
  const consul: ServiceRecord = {
    ID: 'consul', Service: 'consul', Tags: [], Address: '', TaggedAddresses: {}, Meta: {}, Port: 8300,
    Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Kind: '',
  };
  const serf: CheckRecord = {
    Node: config.node, CheckID: SERF_CHECK_ID, Name: 'Serf Health Status', Status: 'passing', Notes: '',
    Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', Definition: {},
  };
  await catalog.commands.registerNodeWith(node, [consul], [serf]);
  return node;
}
