/**
 * The agent stream: one WebSocket per agent (`GET /v1/beacon/agent/stream`, upgraded) carrying
 * every watch the agent holds, its node's session and its writes. Messages are JSON text frames.
 * Shared by the server (which answers) and the agent (which asks); both validate what they get.
 */
import { BeaconError } from '../../errors/index.js';

/** The stream's path on a server. */
export const AGENT_STREAM_PATH = '/v1/beacon/agent/stream';
/** Protocol version carried in `hello`. */
export const AGENT_PROTOCOL_VERSION = 1;
/** Most watches one connection may hold. */
export const MAX_WATCHES_PER_STREAM = 10_000;
/** Largest message an agent may send (a full sync of a host with many services). */
export const MAX_AGENT_MESSAGE_BYTES = 4 << 20;
/** Longest read path (with its query) a watch may name. */
export const MAX_WATCH_PATH = 2048;

/** The reads a watch may name (GET routes whose answer depends only on the catalog). */
const WATCHABLE = [
  /^\/v1\/catalog\/(services|nodes|datacenters)$/,
  /^\/v1\/catalog\/(service|node|node-services)\/[^/?#]+$/,
  /^\/v1\/health\/(service|checks|state|node)\/[^/?#]+$/,
  /^\/v1\/status\/(leader|peers)$/,
];

/** Whether a read path (without its query) can be watched through the stream. */
export function isWatchablePath(pathname: string): boolean {
  return WATCHABLE.some((re) => re.test(pathname));
}

/** A node as the agent describes it. */
export interface AgentNodeInfo {
  Node: string;
  ID: string;
  Address: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
}

/** A record sent in a sync: the catalog shapes, validated again by the server. */
export type WireRecord = Record<string, unknown>;

export type AgentMessage =
  | { op: 'hello'; v: number; node: AgentNodeInfo; ttl: number }
  | { op: 'watch'; id: number; path: string; index: number }
  | { op: 'unwatch'; id: number }
  | { op: 'sync'; seq: number; services: Array<{ service: WireRecord; checks: WireRecord[] }>; checks: WireRecord[] }
  | { op: 'status'; seq: number; checkId: string; status: 'passing' | 'warning' | 'critical'; output: string }
  | { op: 'leave'; seq: number };

export type ServerMessage =
  | { op: 'welcome'; server: string; datacenter: string }
  | { op: 'data'; id: number; index: number; status: number; knownLeader: boolean; lastContact: number; body: unknown }
  | { op: 'ack'; seq: number; writes: number }
  | { op: 'error'; id?: number; seq?: number; code: string; message: string; field?: string };

const bad = (field: string, message: string): BeaconError => new BeaconError('BEACON_ERR_AGENT_PROTOCOL', `${field}: ${message}`, { field });

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const uint = (v: unknown, field: string, max = 2 ** 53 - 1): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw bad(field, `must be an integer from 0 to ${max}`);
  return v;
};
const str = (v: unknown, field: string, max: number): string => {
  if (typeof v !== 'string' || v.length > max) throw bad(field, `must be a string of at most ${max} characters`);
  return v;
};
const strMap = (v: unknown, field: string): Record<string, string> => {
  if (v === undefined) return {};
  if (!isObj(v)) throw bad(field, 'must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = str(x, `${field}.${k}`, 512);
  return out;
};

/**
 * Decodes and validates one message an agent sent. Throws BEACON_ERR_AGENT_PROTOCOL naming the
 * field; nothing of the message is acted on then.
 */
export function parseAgentMessage(text: string): AgentMessage {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw bad('message', 'is not JSON');
  }
  if (!isObj(m)) throw bad('message', 'must be a JSON object');
  switch (m.op) {
    case 'hello': {
      if (m.v !== AGENT_PROTOCOL_VERSION) throw bad('v', `protocol version ${String(m.v)} is not spoken here (${AGENT_PROTOCOL_VERSION} is)`);
      if (!isObj(m.node)) throw bad('node', 'must be an object');
      const n = m.node;
      const name = str(n.Node, 'node.Node', 128);
      if (!/^[^\s/]{1,128}$/.test(name)) throw bad('node.Node', 'must be 1-128 characters without spaces or /');
      const ttl = uint(m.ttl, 'ttl', 300);
      if (ttl < 2) throw bad('ttl', 'must be from 2 to 300 seconds');
      return {
        op: 'hello',
        v: AGENT_PROTOCOL_VERSION,
        ttl,
        node: {
          Node: name,
          ID: str(n.ID ?? '', 'node.ID', 64),
          Address: str(n.Address, 'node.Address', 256),
          TaggedAddresses: strMap(n.TaggedAddresses, 'node.TaggedAddresses'),
          Meta: strMap(n.Meta, 'node.Meta'),
        },
      };
    }
    case 'watch': {
      const id = uint(m.id, 'id', 2 ** 31);
      const path = str(m.path, 'path', MAX_WATCH_PATH);
      const q = path.indexOf('?');
      const pathname = q < 0 ? path : path.slice(0, q);
      if (!isWatchablePath(pathname)) throw bad('path', `${JSON.stringify(pathname.slice(0, 128))} is not a read the stream can watch`);
      const query = new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
      if (query.has('index') || query.has('wait') || query.has('consistent'))
        throw bad('path', 'must not carry index, wait or consistent (the stream tracks the index itself)');
      return { op: 'watch', id, path, index: uint(m.index, 'index') };
    }
    case 'unwatch':
      return { op: 'unwatch', id: uint(m.id, 'id', 2 ** 31) };
    case 'sync': {
      const seq = uint(m.seq, 'seq');
      if (!Array.isArray(m.services)) throw bad('services', 'must be a list');
      if (!Array.isArray(m.checks)) throw bad('checks', 'must be a list');
      const services = m.services.map((s: unknown, i) => {
        if (!isObj(s) || !isObj(s.service) || !Array.isArray(s.checks) || !s.checks.every(isObj))
          throw bad(`services[${i}]`, 'must be {service: {...}, checks: [{...}]}');
        return { service: s.service, checks: s.checks };
      });
      if (!m.checks.every(isObj)) throw bad('checks', 'must be a list of objects');
      return { op: 'sync', seq, services, checks: m.checks };
    }
    case 'status': {
      const seq = uint(m.seq, 'seq');
      const status = m.status;
      if (status !== 'passing' && status !== 'warning' && status !== 'critical') throw bad('status', 'must be passing, warning or critical');
      return { op: 'status', seq, checkId: str(m.checkId, 'checkId', 512), status, output: str(m.output ?? '', 'output', 65536) };
    }
    case 'leave':
      return { op: 'leave', seq: uint(m.seq, 'seq') };
    default:
      throw bad('op', `${JSON.stringify(String(m.op)).slice(0, 40)} is not one of hello, watch, unwatch, sync, status, leave`);
  }
}
