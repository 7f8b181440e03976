/**
 * Forwards questions outside Beacon's domains to the configured recursors, one after the
 * other (each gets `timeoutMs`), and relays the first answer with the client's ID. As in
 * Consul, an answer whose rcode is neither NOERROR nor NXDOMAIN (SERVFAIL, REFUSED, FORMERR,
 * NOTIMP, ...) counts as that recursor failing: the next one is asked at once. The
 * transport follows the client's, as a real resolver does: a query that came over TCP is
 * forwarded over TCP (one connection per query); one that came over UDP goes over UDP, and
 * when the recursor's UDP answer has the TC bit, the same recursor is asked again over TCP.
 * The query is sent as the client wrote it, under a fresh random ID; an answer is accepted
 * only from the recursor it was sent to (its address and port over UDP, the connection Beacon
 * opened over TCP), with that ID and the same question — or no question at all when its rcode
 * is an error, as real servers send FORMERR, SERVFAIL, REFUSED or NOTIMP. At most
 * `maxPending` forwards are in flight; beyond that, and when every recursor fails, the
 * caller answers SERVFAIL.
 */
import dgram from 'node:dgram';
import net, { isIPv6 } from 'node:net';
import type { HostPort } from '../config/index.js';
import { FLAG_QR, FLAG_TC, HEADER_LEN, MIN_UDP_SIZE, RCODE } from './wire.js';

interface Pending {
  resolve(answer: Buffer | undefined): void;
  timer: NodeJS.Timeout;
  to: HostPort;
  question: Buffer;
}

export class Forwarder {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  /** Forwards over TCP in flight: each one's "give up" callback (close() calls them). */
  private readonly tcpPending = new Set<() => void>();
  private closed = false;
  forwarded = 0;
  failures = 0;
  /** Truncated UDP answers asked again over TCP. */
  tcpRetries = 0;
  /** Answers with an error rcode (not NOERROR or NXDOMAIN): the next recursor was asked. */
  errorReplies = 0;

  constructor(
    private readonly recursors: readonly HostPort[],
    private readonly timeoutMs: number,
    private readonly maxPending = 1024,
    private readonly onError?: (err: Error) => void,
  ) {}

  get inFlight(): number {
    return this.pending.size + this.tcpPending.size;
  }

  /**
   * Resolves to the recursor's answer (with `query`'s ID), or undefined when every recursor
   * failed, timed out or too many forwards are in flight. `questionEnd` bounds the question.
   * `udpLimit` is the client's UDP payload limit when it asked over UDP, undefined when it
   * asked over TCP (then the query is forwarded over TCP). A truncated UDP answer is replaced
   * by the recursor's TCP answer when that fits `udpLimit` (only tried when the limit is over
   * 512); otherwise the truncated one is relayed (TC set, so the client retries over TCP).
   * `upstreams` replaces the recursors for this one question (another datacenter's servers).
   */
  async forward(query: Buffer, questionEnd: number, udpLimit: number | undefined, upstreams?: readonly HostPort[]): Promise<Buffer | undefined> {
    this.forwarded++;
    const id = query.readUInt16BE(0);
    for (const r of upstreams ?? this.recursors) {
      if (this.closed) break;
      let answer: Buffer | undefined;
      if (udpLimit === undefined) {
        const t = await this.tcpOnce(r, query, questionEnd);
        answer = t.answer;
        // A recursor that refuses or resets TCP at once is asked over UDP instead (what it
        // says then is relayed as is, TC included); one that timed out is not asked again.
        if (!answer && !t.timedOut && !this.closed) answer = await this.once(r, query, questionEnd);
      } else {
        answer = await this.once(r, query, questionEnd);
        // Without EDNS (limit 512) the recursor was held to the client's own limit: a full
        // answer could not fit, so the client's own TCP retry is the only way (no extra trip).
        if (answer && usable(answer) && answer.readUInt16BE(2) & FLAG_TC && udpLimit > MIN_UDP_SIZE && !this.closed) {
          this.tcpRetries++;
          const full = (await this.tcpOnce(r, query, questionEnd)).answer;
          if (full && usable(full) && full.length <= udpLimit) answer = full;
        }
      }
      if (answer && !usable(answer)) {
        // This recursor failed to answer (Consul's handleRecurse does the same): try the next.
        this.errorReplies++;
        continue;
      }
      if (answer) {
        answer.writeUInt16BE(id, 0);
        return answer;
      }
    }
    this.failures++;
    return undefined;
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (!s) {
      s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
      s.on('error', (err) => this.onError?.(err));
      s.unref();
      this.sockets.set(family, s);
    }
    return s;
  }

  private once(to: HostPort, query: Buffer, questionEnd: number): Promise<Buffer | undefined> {
    if (this.pending.size >= this.maxPending) return Promise.resolve(undefined);
    let id = 0;
    for (let tries = 0; tries < 16; tries++) {
      id = (Math.random() * 0x10000) | 0;
      if (!this.pending.has(id)) break;
    }
    if (this.pending.has(id)) return Promise.resolve(undefined);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const done = (answer: Buffer | undefined) => {
        clearTimeout(p.timer);
        this.pending.delete(id);
        resolve(answer);
      };
      const p: Pending = {
        resolve: done,
        to,
        question: query.subarray(HEADER_LEN, questionEnd),
        timer: setTimeout(() => done(undefined), this.timeoutMs),
      };
      this.pending.set(id, p);
      try {
        this.socket(isIPv6(to.host) ? 6 : 4).send(out, to.port, to.host, (err) => {
          if (err) done(undefined);
        });
      } catch (err) {
        this.onError?.(err as Error);
        done(undefined);
      }
    });
  }

  /**
   * One query over a fresh TCP connection (RFC 1035 4.2.2 framing); the connection is closed
   * after the first message. Connect, send and answer together get `timeoutMs`.
   */
  private tcpOnce(to: HostPort, query: Buffer, questionEnd: number): Promise<{ answer: Buffer | undefined; timedOut: boolean }> {
    if (this.inFlight >= this.maxPending || this.closed) return Promise.resolve({ answer: undefined, timedOut: true });
    const id = (Math.random() * 0x10000) | 0;
    const frame = Buffer.allocUnsafe(query.length + 2);
    frame.writeUInt16BE(query.length, 0);
    query.copy(frame, 2);
    frame.writeUInt16BE(id, 2);
    const question = query.subarray(HEADER_LEN, questionEnd);
    return new Promise((resolve) => {
      let finished = false;
      let buf: Buffer = Buffer.alloc(0);
      const sock = net.connect({ host: to.host, port: to.port });
      const done = (answer: Buffer | undefined, timedOut = false) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.tcpPending.delete(giveUp);
        sock.destroy();
        resolve({ answer, timedOut });
      };
      // Timed out, or the server is closing: not worth another try at this recursor.
      const giveUp = () => done(undefined, true);
      const timer = setTimeout(giveUp, this.timeoutMs);
      this.tcpPending.add(giveUp);
      sock.setNoDelay(true);
      sock.on('connect', () => sock.write(frame));
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (len < HEADER_LEN) return done(undefined);
        if (buf.length < len + 2) return;
        done(isAnswerTo(buf.subarray(2, len + 2), id, question) ? Buffer.from(buf.subarray(2, len + 2)) : undefined);
      });
      sock.on('error', (err) => {
        this.onError?.(err);
        done(undefined);
      });
      sock.on('close', () => done(undefined));
    });
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < HEADER_LEN) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    if (!p) return;
    if (rinfo.port !== p.to.port || !sameHost(rinfo.address, p.to.host)) return;
    if (!isAnswerTo(msg, msg.readUInt16BE(0), p.question)) return;
    p.resolve(msg);
  }

  close(): void {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.resolve(undefined);
    for (const giveUp of [...this.tcpPending]) giveUp();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}

/**
 * A response (QR) with this ID whose question is `question`, or which has no question and an
 * error rcode (servers answer FORMERR, SERVFAIL, REFUSED, NOTIMP without echoing it). A reply
 * with a different question, or none and NOERROR, is not an answer to this query.
 */
function isAnswerTo(msg: Buffer, id: number, question: Buffer): boolean {
  if (msg.length < HEADER_LEN) return false;
  if (msg.readUInt16BE(0) !== id || !(msg.readUInt16BE(2) & FLAG_QR)) return false;
  const qdcount = msg.readUInt16BE(4);
  if (qdcount === 0) return (msg.readUInt16BE(2) & 0xf) !== RCODE.NOERROR;
  if (qdcount !== 1 || msg.length < HEADER_LEN + question.length) return false;
  return sameQuestion(msg.subarray(HEADER_LEN, HEADER_LEN + question.length), question);
}

/** An answer to relay: NOERROR or NXDOMAIN. Any other rcode means the recursor failed. */
function usable(answer: Buffer): boolean {
  const rcode = answer.readUInt16BE(2) & 0xf;
  return rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN;
}

function sameHost(a: string, b: string): boolean {
  return a === b || a.replace(/^::ffff:/, '') === b.replace(/^::ffff:/, '');
}

/** Byte-equal questions, ignoring ASCII letter case (recursors may echo 0x20-mixed case). */
function sameQuestion(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (lower(a[i]) !== lower(b[i])) return false;
  }
  return true;
}

const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
