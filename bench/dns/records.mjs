// The record set every DNS bench target serves, and the query mix dnsperf sends.
// Three services on six nodes; one unknown name for the negative (NXDOMAIN + SOA) path.
export const DATACENTER = 'dc1';
export const DOMAIN = 'consul';

export const NODES = Array.from({ length: 6 }, (_, i) => ({ node: `n${i + 1}`, address: `10.0.0.${i + 1}` }));

/** service -> node names its instances run on (port 8080). */
export const SERVICES = { web: ['n1', 'n2', 'n3'], api: ['n4'], db: ['n5', 'n6'] };

export const QUERIES = [
  ['web.service.consul', 'A'],
  ['api.service.consul', 'A'],
  ['db.service.consul', 'A'],
  ['web.service.consul', 'SRV'],
  ['n1.node.consul', 'A'],
  ['nosuch.service.consul', 'A'],
];

export const SERVICE_TTL = 5;
export const NODE_TTL = 0;

export const addressOf = (node) => NODES.find((n) => n.node === node).address;
