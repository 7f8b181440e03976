/**
 * Forwards questions outside Beacon's domains to the configured recursors over UDP, one
 * after the other (each gets `timeoutMs`), and relays the first answer with the client's ID.
 * The query is sent as the client wrote it, under a fresh random ID; an answer is accepted
 * only from the recursor it was sent to, with that ID and the same question. At most
 * `maxPending` forwards are in flight; beyond that, and when every recursor fails, the
 * caller answers SERVFAIL.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HostPort } from '../config/index.js';
import { FLAG_QR, HEADER_LEN } from './wire.js';

interface Pending {
  resolve(answer: Buffer | undefined): void;
  timer: NodeJS.Timeout;
  to: HostPort;
  question: Buffer;
}

export class Forwarder {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  forwarded = 0;
  failures = 0;

  constructor(
    private readonly recursors: readonly HostPort[],
    private readonly timeoutMs: number,
    private readonly maxPending = 1024,
    private readonly onError?: (err: Error) => void,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Resolves to the recursor's answer (with `query`'s ID), or undefined when every recursor
   * failed, timed out or too many forwards are in flight. `questionEnd` bounds the question.
   */
  async forward(query: Buffer, questionEnd: number): Promise<Buffer | undefined> {
    this.forwarded++;
    const id = query.readUInt16BE(0);
    for (const r of this.recursors) {
      if (this.closed) break;
      const answer = await this.once(r, query, questionEnd);
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
        resolve: done, to, question: query.subarray(HEADER_LEN, questionEnd),
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

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < HEADER_LEN) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    if (!p || !(msg.readUInt16BE(2) & FLAG_QR)) return;
    if (rinfo.port !== p.to.port || !sameHost(rinfo.address, p.to.host)) return;
    const q = p.question;
    if (msg.length < HEADER_LEN + q.length || !sameQuestion(msg.subarray(HEADER_LEN, HEADER_LEN + q.length), q)) return;
    p.resolve(msg);
  }

  close(): void {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.resolve(undefined);
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}

function sameHost(a: string, b: string): boolean {
  return a === b || a.replace(/^::ffff:/, '') === b.replace(/^::ffff:/, '');
}

/** Byte-equal questions, ignoring ASCII letter case (recursors may echo 0x20-mixed case). */
function sameQuestion(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (lower(a[i]!) !== lower(b[i]!)) return false;
  }
  return true;
}

const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
