/**
 * A small dns-packet server on loopback that stands in for an upstream recursor, on UDP and TCP
 * (same port): answers every A question with `records` addresses (the first is `address`), or
 * stays silent, and logs every query with the transport it came over. With `udpMax`, a UDP
 * answer larger than that is replaced by an empty one with TC set, as a real server with a
 * smaller buffer does; `tcp: false` refuses TCP connections. With `reply`, it answers with the
 * given rcode (and no records) and, as `question` says, echoes the question, leaves the question
 * section empty (as real servers do with FORMERR, SERVFAIL, REFUSED, NOTIMP) or puts another
 * name there (what a spoofed or stray reply with the right ID looks like). `udpFromOtherPort`
 * sends UDP replies from another socket than the one asked (a reply from the wrong port).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface UpstreamQuery {
  /** "<name> <type>" as asked. */
  q: string;
  transport: 'udp' | 'tcp';
  /** Date.now() when it arrived. */
  at: number;
}

export interface Upstream {
  port: number;
  /** "<name> <type>" of every query, in arrival order (both transports). */
  queries: string[];
  log: UpstreamQuery[];
  close(): Promise<void>;
}

export type UpstreamRcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';
const RCODES: Record<UpstreamRcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

export interface UpstreamReply {
  rcode: UpstreamRcode;
  /** The question section: the one asked (default), none, or another name. */
  question?: 'echo' | 'empty' | 'other';
}

export interface UpstreamOptions {
  address?: string;
  silent?: boolean;
  /** A records per answer (default 1). */
  records?: number;
  /** Largest UDP answer; bigger ones are sent empty with TC. */
  udpMax?: number;
  /** Listen on TCP too (default true). */
  tcp?: boolean;
  /** Answer with this rcode and question section instead (per question name when a function). */
  reply?: UpstreamReply | ((name: string) => UpstreamReply | undefined);
  /** Send UDP replies from a second socket (another port) instead of the one asked. */
  udpFromOtherPort?: boolean;
}

export async function startUpstream(opts: UpstreamOptions = {}): Promise<Upstream> {
  // The TCP side takes the port the system gave the UDP side; another process may hold it
  // for TCP already, so try a bounded number of ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startUpstreamOnce(opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}

async function startUpstreamOnce(opts: UpstreamOptions): Promise<Upstream> {
  const queries: string[] = [];
  const log: UpstreamQuery[] = [];
  const answer = (msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (!question) return undefined;
    queries.push(`${question.name} ${question.type}`);
    log.push({ q: `${question.name} ${question.type}`, transport, at: Date.now() });
    if (opts.silent) return undefined;
    const shape = typeof opts.reply === 'function' ? opts.reply(question.name) : opts.reply;
    if (shape) {
      const questions = shape.question === 'empty' ? [] : shape.question === 'other' ? [{ ...question, name: `other.${question.name}` }] : q.questions;
      return dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.RECURSION_AVAILABLE | RCODES[shape.rcode],
        questions,
        answers: [],
      });
    }
    const n = opts.records ?? 1;
    const answers: dnsPacket.Answer[] =
      question.type !== 'A'
        ? []
        : Array.from({ length: n }, (_, i) => ({
            name: question.name,
            type: 'A',
            ttl: 60,
            data: i === 0 ? (opts.address ?? '192.0.2.7') : `198.51.${100 + (i >> 8)}.${i & 0xff}`,
          }));
    const full = dnsPacket.encode({
      id: q.id,
      type: 'response',
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
      answers,
    });
    if (transport === 'udp' && opts.udpMax !== undefined && full.length > opts.udpMax) {
      return dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.TRUNCATED_RESPONSE,
        questions: q.questions,
        answers: [],
      });
    }
    return full;
  };

  const sock = dgram.createSocket('udp4');
  const other = opts.udpFromOtherPort ? dgram.createSocket('udp4') : undefined;
  sock.on('message', (msg, rinfo) => {
    const a = answer(msg, 'udp');
    if (a) (other ?? sock).send(a, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  if (other) await new Promise<void>((resolve) => other.bind(0, '127.0.0.1', () => resolve()));
  const port = sock.address().port;

  const conns = new Set<net.Socket>();
  let server: net.Server | undefined;
  if (opts.tcp !== false) {
    server = net.createServer((c) => {
      conns.add(c);
      c.on('close', () => conns.delete(c));
      c.on('error', () => c.destroy());
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const a = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (!a) continue;
          const f = Buffer.alloc(a.length + 2);
          f.writeUInt16BE(a.length, 0);
          a.copy(f, 2);
          c.write(f);
        }
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
    } catch (err) {
      sock.close();
      other?.close();
      throw err;
    }
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    queries,
    log,
    close: () =>
      (closing ??= Promise.all([
        new Promise<void>((res) => sock.close(() => res())),
        new Promise<void>((res) => (other ? other.close(() => res()) : res())),
        new Promise<void>((res) => {
          if (!server) return res();
          for (const c of conns) c.destroy();
          server.close(() => res());
        }),
      ]).then(() => undefined)),
  };
}
