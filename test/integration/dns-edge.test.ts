/**
 * Questions outside the domain (REFUSED, or forwarded to --recursor), odd questions, and a fuzz
 * run of random, truncated and bit-flipped packets after which the server still answers.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { decode } from '../helpers/dns-decode.js';
import { startDnsHarness, type DnsHarness } from '../helpers/dns-harness.js';
import { startUpstream, type Upstream } from '../helpers/dns-upstream.js';

describe('without recursors', () => {
  let h: DnsHarness;
  beforeAll(async () => {
    ensureDig();
    h = await startDnsHarness();
    await h.register({ node: 'n1', address: '10.0.0.1', service: 'web' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers REFUSED outside the domain, not authoritative, no recursion available', async () => {
    const r = await dig(h.port, ['example.com', 'A']);
    expect(r.status).toBe('REFUSED');
    expect(r.flags).not.toContain('aa');
    expect(r.flags).not.toContain('ra');
  });

  it('answers NOTIMP to zone transfers and REFUSED to other classes', async () => {
    const before = h.dns.stats().responses.NOTIMP;
    expect((await dig(h.port, ['consul', 'AXFR', '+tcp'])).raw).toMatch(/Transfer failed/);
    expect(h.dns.stats().responses.NOTIMP).toBe(before + 1);
    expect((await dig(h.port, ['-c', 'CH', 'version.bind', 'TXT'])).status).toBe('REFUSED');
  });

  it('answers BADVERS to EDNS version 1', async () => {
    expect((await dig(h.port, ['web.service.consul', 'A', '+edns=1', '+noednsneg'])).status).toBe('BADVERS');
  });

  it('survives random, truncated and bit-flipped packets over UDP and TCP', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const valid = [
      dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'web.service.consul', type: 'SRV' }] }),
      dnsPacket.encode({
        id: 2,
        type: 'query',
        questions: [{ name: 'n1.node.consul', type: 'A' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer],
      }),
    ];
    const packets: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      const kind = i % 3;
      const base = valid[i % valid.length];
      if (kind === 0) packets.push(Buffer.from(Array.from({ length: rand(200) }, () => rand(256))));
      else if (kind === 1) packets.push(base.subarray(0, rand(base.length)));
      else {
        const b = Buffer.from(base);
        for (let k = 0; k < 1 + rand(4); k++) b[rand(b.length)] = rand(256);
        packets.push(b);
      }
    }
    for (let i = 0; i < packets.length; i++) {
      sock.send(packets[i], h.port, '127.0.0.1');
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    // TCP: the same junk, framed and unframed.
    for (let i = 0; i < 20; i++) {
      const s = net.connect({ host: '127.0.0.1', port: h.port });
      s.on('error', () => undefined);
      const p = packets[i * 7];
      const f = Buffer.alloc(p.length + 2);
      f.writeUInt16BE(i % 2 ? p.length : rand(65536), 0);
      p.copy(f, 2);
      s.end(f);
    }
    await new Promise((r) => setTimeout(r, 300));
    sock.close();

    // Every reply is a well-formed DNS response.
    for (const m of replies) {
      expect(m.length).toBeGreaterThanOrEqual(12);
      expect(m.readUInt16BE(2) & 0x8000).toBe(0x8000);
      expect(() => dnsPacket.decode(m)).not.toThrow();
    }
    const s = h.dns.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.responses.FORMERR).toBeGreaterThan(0);
    // And it still answers.
    const r = await dig(h.port, ['web.service.consul', 'A']);
    expect(r.answer.map((a) => a.data)).toEqual(['10.0.0.1']);
    expect((await dig(h.port, ['web.service.consul', 'A', '+tcp'])).answer).toHaveLength(1);
  });
});

describe('with --recursor', () => {
  let h: DnsHarness;
  let up: Upstream;
  let silent: Upstream;
  beforeAll(async () => {
    ensureDig();
    up = await startUpstream({ address: '192.0.2.7' });
    silent = await startUpstream({ silent: true });
    h = await startDnsHarness({ recursors: [`127.0.0.1:${silent.port}`, `127.0.0.1:${up.port}`] }, { dns: { recursorTimeoutMs: 300 } });
    await h.register({ node: 'n1', address: '10.0.0.1', service: 'web' });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
    await silent?.close();
  });

  it('forwards names outside the domain, trying recursors in order, and sets RA', async () => {
    const r = await dig(h.port, ['Example.COM', 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('ra');
    expect(r.answer).toEqual([expect.objectContaining({ name: 'Example.COM.', data: '192.0.2.7' })]);
    expect(silent.queries).toContain('Example.COM A');
    expect(up.queries).toContain('Example.COM A');
    // Its own domain is still answered locally (and says RA now).
    const own = await dig(h.port, ['web.service.consul', 'A']);
    expect(own.answer.map((a) => a.data)).toEqual(['10.0.0.1']);
    expect(own.flags).toContain('ra');
    expect(up.queries.some((x) => x.startsWith('web.service'))).toBe(false);
  });

  it('forwards reverse lookups it cannot answer', async () => {
    expect((await dig(h.port, ['-x', '10.0.0.1'])).answer.map((a) => a.data)).toEqual(['n1.node.dc1.consul.']);
    await dig(h.port, ['-x', '198.51.100.1']);
    expect(up.queries).toContain('1.100.51.198.in-addr.arpa PTR');
  });

  it('answers SERVFAIL when every recursor fails', async () => {
    await up.close();
    const before = h.dns.stats().forwardFailures;
    const r = await dig(h.port, ['down.example.org', 'A']);
    expect(r.status).toBe('SERVFAIL');
    expect(h.dns.stats().forwardFailures).toBe(before + 1);
  });

  it('relays over TCP too', async () => {
    const s = net.connect({ host: '127.0.0.1', port: h.port });
    const msg = dnsPacket.encode({ id: 9, type: 'query', questions: [{ name: 'tcp.example.net', type: 'A' }] });
    const f = Buffer.alloc(msg.length + 2);
    f.writeUInt16BE(msg.length, 0);
    msg.copy(f, 2);
    s.write(f);
    const reply = await new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
    });
    s.destroy();
    // The only working recursor was closed above: SERVFAIL after both time out.
    expect(decode(reply)).toMatchObject({ id: 9, rcode: 'SERVFAIL' });
  });
});

describe('with an unusable recursor address', () => {
  it('is refused by the config before the server starts', async () => {
    await expect(startDnsHarness({ recursors: ['127.0.0.1:0'] }, { dns: { recursorTimeoutMs: 200 } })).rejects.toThrow(
      /invalid recursors: "127\.0\.0\.1:0" needs a real port/,
    );
  });
});
