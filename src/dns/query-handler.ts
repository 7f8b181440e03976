import type { Logger } from '../config/index.js';
/**
 * One query in, one answer out (or nothing, for packets not worth answering). The hot path:
 * read header + question (wire.ts), look the key up in the answer cache, assemble from
 * pre-encoded records (assemble.ts). Only a miss reads the catalog and encodes records.
 * Forwarded questions are the only asynchronous path.
 */
import { addrAnswer, apexAnswer, nodeAnswer, ptrAnswer } from './answer-node.js';
import { negative, NXDOMAIN, type AnswerContext, type BuildResult, type DnsCatalog } from './answer-common.js';
import { serviceAnswer } from './answer-service.js';
import { queryAnswer, type QueryAnswer } from './answer-query.js';
import type { HostPort } from '../config/index.js';
import { assemble, type CachedAnswer } from './assemble.js';
import type { AnswerCache } from './cache.js';
import { classifyName, type NameQuery } from './names.js';
import type { Forwarder } from './recursor.js';
import {
  bareResponse,
  CLASS_ANY,
  CLASS_IN,
  FLAG_RA,
  FLAG_TC,
  keyLabelOffsets,
  keyLabels,
  parseQuery,
  RCODE,
  RCODE_BADVERS,
  TYPE,
  udpLimit,
  type ParsedQuery,
} from './wire.js';

/** Largest DNS message over TCP. */
export const TCP_MAX_MESSAGE = 65535;

/** The server's structured logger. */
export type DnsLogger = Logger;

export type Reply = Buffer | undefined | Promise<Buffer | undefined>;

/** What DNS needs of the WAN (federation): other datacenters' DNS servers, and prepared queries. */
export interface DnsWan {
  /** Another datacenter's DNS servers, fastest first: undefined for an unknown datacenter, [] while it is unreachable. */
  dnsServers(dc: string): HostPort[] | undefined;
  /** Runs this datacenter's prepared query (by ID or name, failover included); undefined when there is none. Rejects when it cannot be run. */
  preparedQuery(idOrName: string): Promise<QueryAnswer | undefined>;
}

export class QueryHandler {
  queries = 0;
  dropped = 0;
  truncated = 0;
  /** Responses by rcode number (0-15; BADVERS counts under 16). */
  readonly rcodes = new Array<number>(17).fill(0);
  private readonly catalog: DnsCatalog;
  private readonly ra: boolean;
  private readonly localDc: string;

  constructor(
    private readonly ctx: AnswerContext,
    private readonly cache: AnswerCache,
    private readonly forwarder: Forwarder | undefined,
    private readonly domains: readonly (readonly string[])[],
    private readonly logger: DnsLogger,
    private readonly wan?: { hooks: DnsWan; forwarder: Forwarder },
    /**
     * Called on an answer-cache miss with the question's name; a promise it returns is awaited
     * before the answer is built (the agent: the first answer of a read not yet watched).
     */
    private readonly prepare?: (q: NameQuery) => Promise<void> | undefined,
  ) {
    this.catalog = ctx.catalog;
    this.ra = ctx.config.recursors.length > 0;
    this.localDc = ctx.datacenter.toLowerCase();
  }

  /** Answers one DNS message received over UDP (`tcp` false) or TCP. */
  handle(msg: Buffer, tcp: boolean): Reply {
    this.queries++;
    const r = parseQuery(msg);
    if (r.kind === 'drop') {
      this.dropped++;
      this.logger.debug({ reason: r.reason, bytes: msg.length }, 'dns: dropped packet');
      return undefined;
    }
    if (r.kind === 'error') {
      this.logger.debug({ reason: r.reason }, 'dns: malformed query');
      return this.bare(msg, r.id, r.flags, r.rcode, undefined);
    }
    const q = r.query;
    if (q.edns && q.edns.version > 0) return this.bare(msg, q.id, q.flags, RCODE_BADVERS, q);
    if (this.prepare && !this.cache.get(q.key, this.catalog.revision)) {
      const wait = this.prepare(classifyName(keyLabels(q.key), this.domains));
      if (wait) return wait.then(() => this.answer(msg, q, tcp));
    }
    return this.answer(msg, q, tcp);
  }

  private answer(msg: Buffer, q: ParsedQuery, tcp: boolean): Reply {
    let entry = this.cache.get(q.key, this.catalog.revision);
    if (!entry) {
      let built: CachedAnswer | Buffer | 'forward' | Promise<Buffer | undefined>;
      try {
        built = this.build(msg, q, tcp);
      } catch (err) {
        this.logger.warn({ err, qtype: q.qtype }, 'dns: failed to build an answer');
        return this.bare(msg, q.id, q.flags, RCODE.SERVFAIL, q);
      }
      if (built === 'forward') return this.forward(msg, q, tcp, this.forwarder!);
      if (built instanceof Promise) return built;
      if (Buffer.isBuffer(built)) return built;
      entry = built;
    }
    const ednsSize = udpLimit(q.edns);
    const a = assemble(entry, msg, q, tcp ? TCP_MAX_MESSAGE : ednsSize, this.ra, ednsSize);
    this.rcodes[entry.rcode]++;
    if (a.truncated) this.truncated++;
    return a.message;
  }

  private build(msg: Buffer, q: ParsedQuery, tcp: boolean): CachedAnswer | Buffer | 'forward' | Promise<Buffer | undefined> {
    if (q.qclass !== CLASS_IN && q.qclass !== CLASS_ANY) return this.bare(msg, q.id, q.flags, RCODE.REFUSED, q);
    if (q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return this.bare(msg, q.id, q.flags, RCODE.NOTIMP, q);
    const labels = keyLabels(q.key);
    const nq = classifyName(labels, this.domains);
    if (nq.kind === 'outside') return this.forwarder ? 'forward' : this.bare(msg, q.id, q.flags, RCODE.REFUSED, q);
    const qn = { labels, offsets: keyLabelOffsets(q.key) };
    let result: BuildResult;
    if (nq.kind !== 'ptr' && nq.kind !== 'apex' && nq.dc !== undefined && nq.dc !== this.localDc) {
      // Another datacenter: its own servers answer (under its TTLs and rules), when it is known.
      const servers = this.wan?.hooks.dnsServers(nq.dc);
      if (servers !== undefined && this.wan) {
        if (servers.length === 0) return this.bare(msg, q.id, q.flags, RCODE.SERVFAIL, q);
        return this.forward(msg, q, tcp, this.wan.forwarder, servers.slice(0, 2));
      }
      result = negative(this.ctx, NXDOMAIN, nq.domain, qn, []);
      // Not cached with federation on: the datacenter may join at any moment.
      if (this.wan) return result;
    } else if (nq.kind === 'query') {
      if (!this.wan) result = negative(this.ctx, NXDOMAIN, nq.domain, qn, []);
      else return this.preparedQuery(msg, q, nq.query, nq.domain, qn, tcp, this.wan.hooks);
    } else {
      switch (nq.kind) {
        case 'service':
          result = serviceAnswer(this.ctx, nq, q.qtype, qn);
          break;
        case 'node':
          result = nodeAnswer(this.ctx, nq, q.qtype, qn);
          break;
        case 'addr':
          result = addrAnswer(this.ctx, nq, q.qtype, qn);
          break;
        case 'ptr':
          result = ptrAnswer(this.ctx, nq, q.qtype, qn);
          break;
        case 'apex':
          result = apexAnswer(this.ctx, nq, q.qtype, qn);
          break;
        case 'unknown':
          result = negative(this.ctx, NXDOMAIN, nq.domain, qn, []);
          break;
      }
    }
    if (result === 'forward') return this.forwarder ? 'forward' : this.bare(msg, q.id, q.flags, RCODE.REFUSED, q);
    this.cache.set(q.key, result);
    return result;
  }

  /** A prepared query's answer: run (asynchronously, it may ask other datacenters), never cached. */
  private async preparedQuery(
    msg: Buffer,
    q: ParsedQuery,
    name: string,
    domain: string,
    qn: { labels: string[]; offsets: number[] },
    tcp: boolean,
    wan: DnsWan,
  ): Promise<Buffer | undefined> {
    let r: QueryAnswer | undefined;
    try {
      r = await wan.preparedQuery(name);
    } catch (err) {
      this.logger.debug({ err, query: name }, 'dns: prepared query failed');
      return this.bare(msg, q.id, q.flags, RCODE.SERVFAIL, q);
    }
    const entry = (r ? queryAnswer(this.ctx, domain, r, q.qtype, qn) : negative(this.ctx, NXDOMAIN, domain, qn, [])) as CachedAnswer;
    const ednsSize = udpLimit(q.edns);
    const a = assemble(entry, msg, q, tcp ? TCP_MAX_MESSAGE : ednsSize, this.ra, ednsSize);
    this.rcodes[entry.rcode]++;
    if (a.truncated) this.truncated++;
    return a.message;
  }

  private async forward(msg: Buffer, q: ParsedQuery, tcp: boolean, forwarder: Forwarder, upstreams?: readonly HostPort[]): Promise<Buffer | undefined> {
    const limit = udpLimit(q.edns);
    // Over TCP the query is forwarded over TCP; over UDP, by UDP (TCP when the answer is truncated).
    const answer = await forwarder.forward(msg, q.questionEnd, tcp ? undefined : limit, upstreams);
    if (!answer) return this.bare(msg, q.id, q.flags, RCODE.SERVFAIL, q);
    // An NXDOMAIN that left the question out: the client gets it with its question back.
    if (answer.readUInt16BE(4) === 0) return this.bare(msg, q.id, q.flags, answer.readUInt16BE(2) & 0xf, q);
    if (!tcp && answer.length > limit) {
      const tc = this.bare(msg, q.id, q.flags, answer.readUInt16BE(2) & 0xf, q);
      tc.writeUInt16BE(tc.readUInt16BE(2) | FLAG_TC, 2);
      this.truncated++;
      return tc;
    }
    // Beacon offers recursion here (its own answers say RA too), whatever the upstream said.
    const flags = answer.readUInt16BE(2) | FLAG_RA;
    answer.writeUInt16BE(flags, 2);
    this.rcodes[flags & 0xf]++;
    if (flags & FLAG_TC) this.truncated++;
    return answer;
  }

  private bare(msg: Buffer, id: number, flags: number, rcode: number, q: ParsedQuery | undefined): Buffer {
    this.rcodes[Math.min(rcode, 16)]++;
    return bareResponse(msg, id, flags, rcode, this.ra, q);
  }
}
