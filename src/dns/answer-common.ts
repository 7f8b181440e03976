/**
 * Shared pieces of answer building: the context every builder reads, the SOA record,
 * negative answers, and the record for one address (A, AAAA or CNAME for a host name).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Catalog, Topic } from '../catalog/index.js';
import type { DnsConfig } from '../config/index.js';
import { finishAnswer, type CachedAnswer } from './assemble.js';
import type { NameIndex } from './name-index.js';
import { encodeRecord, isValidName, ownerName, type QuestionName, type RecordData } from './records.js';
import { RCODE, TYPE } from './wire.js';

/**
 * What DNS reads of the catalog: a server passes its Catalog; the per-host agent a view of its
 * watch cache with the same methods.
 */
export type DnsCatalog = Pick<Catalog, 'revision' | 'onChange' | 'instances' | 'hasService' | 'services' | 'node' | 'nodes' | 'byAddress'>;

export interface AnswerContext {
  catalog: DnsCatalog;
  config: DnsConfig;
  /** The local datacenter, as configured (answers use it in target names). */
  datacenter: string;
  /** This server's node name (NS records). */
  nodeName: string;
  serviceTtl: (service: string) => number;
  names: NameIndex;
  /** Unix seconds, for the SOA serial. */
  now: () => number;
  /** Glue address for the NS record when this server's node is not in the catalog. */
  fallbackGlue: string | undefined;
  /** What DNS may show (the ACL view of the DNS token); undefined: everything. */
  readable?: DnsReadable;
}

/** The names DNS answers may show: services and nodes the DNS token may read. */
export interface DnsReadable {
  service(name: string): boolean;
  node(name: string): boolean;
}

/** What the server does with a question the builders could not answer from the catalog. */
export type BuildResult = CachedAnswer | 'forward';

/** The zone's SOA: `<domain> 0 IN SOA ns.<domain> hostmaster.<domain> <now> 3600 600 86400 0`. */
export function soaRecord(ctx: AnswerContext, domain: string, qn: QuestionName): Buffer {
  const d = domain.replace(/\.$/, '');
  return encodeRecord(ownerName(domain, qn), 0, {
    type: 'SOA',
    data: {
      mname: `ns.${d}`,
      rname: `hostmaster.${d}`,
      serial: ctx.now() >>> 0,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 0,
    },
  });
}

/** NXDOMAIN or NODATA (NOERROR, no answers), with the SOA in the authority section. */
export function negative(ctx: AnswerContext, rcode: number, domain: string, qn: QuestionName, topics: readonly Topic[]): CachedAnswer {
  return finishAnswer({
    rcode,
    authoritative: true,
    answers: [],
    extras: undefined,
    authority: [soaRecord(ctx, domain, qn)],
    additional: [],
    shuffle: false,
    maxAnswers: 0,
    topics,
  });
}

/** A positive answer. */
export function positive(
  answers: Buffer[],
  topics: readonly Topic[],
  opts: { extras?: (Buffer[] | undefined)[]; additional?: Buffer[]; shuffle?: boolean; maxAnswers?: number } = {},
): CachedAnswer {
  return finishAnswer({
    rcode: RCODE.NOERROR,
    authoritative: true,
    answers,
    extras: opts.extras,
    authority: [],
    additional: opts.additional ?? [],
    shuffle: opts.shuffle ?? false,
    maxAnswers: opts.maxAnswers ?? 0,
    topics,
  });
}

/**
 * The record that gives `address` for `qtype`: A for IPv4 (A/ANY), AAAA for IPv6 (AAAA/ANY),
 * CNAME for a host name (A/AAAA/ANY/CNAME); undefined when the type does not match.
 */
export function addressRecord(address: string, qtype: number): RecordData | undefined {
  if (isIPv4(address)) return qtype === TYPE.A || qtype === TYPE.ANY ? { type: 'A', data: address } : undefined;
  if (isIPv6(address)) return qtype === TYPE.AAAA || qtype === TYPE.ANY ? { type: 'AAAA', data: address } : undefined;
  if (address !== '' && isValidName(address) && (qtype === TYPE.A || qtype === TYPE.AAAA || qtype === TYPE.ANY || qtype === TYPE.CNAME)) {
    return { type: 'CNAME', data: address };
  }
  return undefined;
}

/** True for a name Beacon can put in one DNS label (node names in `<node>.node.<dc>` targets). */
export function isLabel(s: string): boolean {
  const n = Buffer.byteLength(s);
  return n > 0 && n <= 63 && !s.includes('.');
}

export const NXDOMAIN = RCODE.NXDOMAIN;
export const NOERROR = RCODE.NOERROR;
