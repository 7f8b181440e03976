/**
 * Response rate limiting for DNS over UDP, as authoritative servers do it (BIND's and NSD's
 * RRL): a UDP source address can be forged, so a server that answers every datagram is a free
 * amplifier (a 47-byte question can draw a 4 KB SRV answer) aimed at whoever the source names.
 *
 * Answers are counted per client prefix (IPv4 /24, IPv6 /56: one attacker rarely forges from a
 * single address, and a victim network is hit as a whole), with a token bucket holding one
 * second of credit. Over the rate, most answers are dropped; every `slip`-th one is sent as an
 * empty truncated answer instead (TC bit, the question, no records), which costs no more than
 * the question did and makes a real client behind that prefix retry over TCP, where no address
 * can be forged and no limit applies. `slip` 0 drops every answer over the rate; 1 slips each.
 *
 * The table of prefixes is bounded: past `maxPrefixes`, the longest-tracked prefix is forgotten
 * (a prefix at rest holds no debt, so forgetting it loses nothing).
 */
import { isIPv4 } from 'node:net';
import { TokenBuckets } from '../config/index.js';
import { bareResponse, FLAG_TC, parseQuery, RCODE } from './wire.js';

export interface RateLimitOptions {
  /** Answers per second per client prefix; 0 turns limiting off. */
  responsesPerSecond: number;
  /** Every slip-th limited answer goes out truncated; the others are dropped (0: drop all). */
  slip: number;
  /** Prefixes tracked at once. */
  maxPrefixes?: number;
}

/** What to do with one answer. */
export const Verdict = { Send: 0, Slip: 1, Drop: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

const DEFAULT_MAX_PREFIXES = 100_000;

/** The client prefix an address is counted under: IPv4 /24, IPv6 /56 (IPv4-mapped IPv6 as IPv4). */
export function clientPrefix(address: string): string {
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.slice(0, v4.lastIndexOf('.'));
  return ipv6Prefix56(address);
}

/** The first 56 bits of an IPv6 address, as 3.5 groups of the expanded form. */
function ipv6Prefix56(address: string): string {
  const zone = address.indexOf('%');
  const a = zone < 0 ? address : address.slice(0, zone);
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const g = (i: number) => (groups[i] ?? '0').padStart(4, '0').toLowerCase();
  return `${g(0)}:${g(1)}:${g(2)}:${g(3).slice(0, 2)}`;
}

export class ResponseRateLimiter {
  private readonly buckets: TokenBuckets;
  private readonly slip: number;
  /** Answers over the rate so far (every slip-th of them is slipped). */
  private limited = 0;
  /** Answers dropped for being over the rate. */
  dropped = 0;
  /** Answers sent truncated in place of a full answer over the rate. */
  slipped = 0;

  constructor(opts: RateLimitOptions, now: () => number = Date.now) {
    this.buckets = new TokenBuckets(opts.responsesPerSecond, opts.maxPrefixes ?? DEFAULT_MAX_PREFIXES, now);
    this.slip = opts.slip;
  }

  /** Whether limiting is on at all. */
  get enabled(): boolean {
    return this.buckets.rate > 0;
  }

  /** Prefixes tracked now. */
  get tracked(): number {
    return this.buckets.size;
  }

  /** Counts one answer to `address` and says whether to send it, slip it or drop it. */
  verdict(address: string): Verdict {
    if (!this.enabled || this.buckets.take(clientPrefix(address)) === 0) return Verdict.Send;
    this.limited++;
    if (this.slip > 0 && this.limited % this.slip === 0) {
      this.slipped++;
      return Verdict.Slip;
    }
    this.dropped++;
    return Verdict.Drop;
  }
}

/**
 * The answer sent in place of a limited one: the question echoed with TC set and no records
 * (so the client asks again over TCP); undefined for a packet whose question cannot be read.
 */
export function slipAnswer(msg: Buffer, ra: boolean): Buffer | undefined {
  const r = parseQuery(msg);
  if (r.kind !== 'query') return undefined;
  const out = bareResponse(msg, r.query.id, r.query.flags, RCODE.NOERROR, ra, r.query);
  out.writeUInt16BE(out.readUInt16BE(2) | FLAG_TC, 2);
  return out;
}
