import type { CheckRecord, NodeRecord, ServiceRecord } from '../catalog/index.js';
import type { RuntimeConfig } from '../config/index.js';
import { ALIVE_OUTPUT, SERF_CHECK_ID } from '../health/index.js';

/** This server's node record from its config, with the node ID and Meta it keeps across restarts. */
export function selfNodeRecord(config: RuntimeConfig, id: string, meta: Record<string, string>): NodeRecord {
  const addr = config.advertiseAddr;
  return {
    ID: id,
    Node: config.node,
    Address: addr,
    Datacenter: config.datacenter,
    TaggedAddresses: { lan: addr, lan_ipv4: addr, wan: addr, wan_ipv4: addr },
    Meta: { ...meta, 'consul-network-segment': '' },
  };
}

/** The `consul` service every server registers on its node, on port 8300 (so consul.service.consul finds the servers). */
export function consulService(): ServiceRecord {
  return {
    ID: 'consul',
    Service: 'consul',
    Tags: [],
    Address: '',
    TaggedAddresses: {},
    Meta: {},
    Port: 8300,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Kind: '',
  };
}

/** The node's `serfHealth` check; health's liveness keeps its status. */
export function serfHealthCheck(node: string): CheckRecord {
  return {
    Node: node,
    CheckID: SERF_CHECK_ID,
    Name: 'Serf Health Status',
    Status: 'passing',
    Notes: '',
    Output: ALIVE_OUTPUT,
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Definition: {},
  };
}
