/**
 * Beacon's DNS interface: Consul-style names (`<service>.service[.<dc>].consul`, tags,
 * RFC 2782 SRV names, nodes, `<hex>.addr`, reverse PTR) over UDP and TCP. See README.md.
 */
export { startDnsServer, type DnsServer, type DnsServerOptions, type DnsStats, type DnsLimits } from './server.js';
export type { DnsLogger } from './query-handler.js';
export type { TcpLimits } from './tcp-transport.js';
export type { DnsWan } from './query-handler.js';
export type { QueryAnswer } from './answer-query.js';
export type { DnsCatalog } from './answer-common.js';
export type { NameQuery } from './names.js';
