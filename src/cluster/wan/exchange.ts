import type { WanServer } from './member-table.js';
import { MAX_DATACENTERS, MAX_SERVERS_PER_DC } from './member-table.js';

/** The route servers exchange WAN membership on. */
export const WAN_EXCHANGE_ROUTE = '/v1/beacon/wan/exchange';

/** What one server tells another: who it is and every server it knows, its own datacenter's first hand. */
export interface ExchangeMessage {
  Datacenter: string;
  Node: string;
  Servers: WanServer[];
}

export const MAX_EXCHANGE_SERVERS = MAX_DATACENTERS * MAX_SERVERS_PER_DC;
const DC_NAME = '^[a-zA-Z0-9_.-]{1,63}$';

const serverSchema = {
  type: 'object',
  required: ['Node', 'Datacenter', 'Addr', 'Http'],
  additionalProperties: false,
  properties: {
    Node: { type: 'string', minLength: 1, maxLength: 128 },
    Datacenter: { type: 'string', pattern: DC_NAME },
    Addr: { type: 'string', maxLength: 256 },
    Http: { type: 'string', minLength: 3, maxLength: 262 },
    Dns: { type: 'string', maxLength: 262 },
    Version: { type: 'string', maxLength: 64 },
  },
} as const;

/** JSON schema of an exchange message (the route's body and, checked by hand, its answer). */
export const exchangeSchema = {
  type: 'object',
  required: ['Datacenter', 'Node', 'Servers'],
  additionalProperties: false,
  properties: {
    Datacenter: { type: 'string', pattern: DC_NAME },
    Node: { type: 'string', minLength: 1, maxLength: 128 },
    Servers: { type: 'array', maxItems: MAX_EXCHANGE_SERVERS, items: serverSchema },
  },
} as const;

const isStr = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
const HOST_PORT = /^[^\s/]+:\d{1,5}$/;
const DC_RE = new RegExp(DC_NAME);

/**
 * Checks a message read off the wire (another server's answer) the way the route's schema
 * checks a request: undefined when it is not one. Servers with a bad entry are left out.
 */
export function parseExchange(v: unknown): ExchangeMessage | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const m = v as Record<string, unknown>;
  if (!isStr(m.Datacenter, 63) || !DC_RE.test(m.Datacenter) || !isStr(m.Node, 128) || m.Node === '' || !Array.isArray(m.Servers)) return undefined;
  const servers: WanServer[] = [];
  for (const s of m.Servers.slice(0, MAX_EXCHANGE_SERVERS) as Record<string, unknown>[]) {
    if (!s || typeof s !== 'object') continue;
    if (!isStr(s.Node, 128) || s.Node === '' || !isStr(s.Datacenter, 63) || !DC_RE.test(s.Datacenter)) continue;
    if (!isStr(s.Http, 262) || !HOST_PORT.test(s.Http) || !isStr(s.Addr, 256)) continue;
    const dns = isStr(s.Dns, 262) && (s.Dns === '' || HOST_PORT.test(s.Dns)) ? s.Dns : '';
    servers.push({ Node: s.Node, Datacenter: s.Datacenter, Addr: s.Addr, Http: s.Http, Dns: dns, Version: isStr(s.Version, 64) ? s.Version : '' });
  }
  return { Datacenter: m.Datacenter, Node: m.Node, Servers: servers };
}
