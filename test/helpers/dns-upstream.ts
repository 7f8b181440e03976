/**
 * A tiny dns-packet responder on loopback that stands in for an upstream recursor: answers every
 * A question with `address` (or stays silent), and counts the queries it saw.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface Upstream {
  port: number;
  queries: string[];
  close(): Promise<void>;
}

export function startUpstream(opts: { address?: string; silent?: boolean } = {}): Promise<Upstream> {
  const sock = dgram.createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    queries.push(`${question.name} ${question.type}`);
    if (opts.silent) return;
    sock.send(dnsPacket.encode({
      id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions,
      answers: question.type === 'A' ? [{ name: question.name, type: 'A', ttl: 60, data: opts.address ?? '192.0.2.7' }] : [],
    }), rinfo.port, rinfo.address);
  });
  let closing: Promise<void> | undefined;
  return new Promise((resolve) => {
    sock.bind(0, '127.0.0.1', () => resolve({
      port: sock.address().port,
      queries,
      close: () => (closing ??= new Promise((res) => sock.close(() => res()))),
    }));
  });
}
