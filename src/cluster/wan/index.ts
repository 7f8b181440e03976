export { WanMemberTable, MAX_DATACENTERS, MAX_SERVERS_PER_DC, type WanServer, type WanMember, type DatacenterView } from './member-table.js';
export { WAN_EXCHANGE_ROUTE, exchangeSchema, parseExchange, type ExchangeMessage } from './exchange.js';
export { WanForwarder, FORWARDED_HEADER, unreachable, type ForwardRequest, type ForwardResponse, type ForwardResult } from './forward.js';
export { Federation, type FederationOptions } from './federation.js';
export { executeQuery, failoverOrder, filterEntries, type HealthEntryLike, type QueryResult, type QueryRunner, type QueryService } from './prepared-query.js';
