/**
 * Sizes and transports: truncation over UDP (512 bytes, or the EDNS0 size) with the full set
 * over TCP, EDNS0 echo, TCP framing and bounds, and binding.
 */
import dgram from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/index.js';
import { startDnsServer } from '../../src/dns/index.js';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { decode } from '../helpers/dns-decode.js';
import { startDnsHarness, type DnsHarness } from '../helpers/dns-harness.js';

let h: DnsHarness;
const q = (...args: string[]) => dig(h.port, args);
const msgSize = (raw: string) => Number(/MSG SIZE\s+rcvd: (\d+)/.exec(raw)?.[1]);

beforeAll(async () => {
  ensureDig();
  h = await startDnsHarness({}, { limits: { maxConnections: 3, idleTimeoutMs: 400 } });
  await h.register(
    ...Array.from({ length: 40 }, (_, i) => ({
      node: `node-${String(i).padStart(2, '0')}`,
      address: `10.2.0.${i + 1}`,
      service: 'big',
      port: 9000 + i,
    })),
  );
});

afterAll(async () => {
  await h?.close();
});

describe('truncation', () => {
  it('listens on the same port for UDP and TCP', () => {
    expect(h.dns.tcpAddress).toEqual(h.dns.udpAddress);
  });

  it('trims 40 A records to 512 bytes over UDP without EDNS and sets TC; TCP returns all 40', async () => {
    const udp = await q('big.service.consul', 'A', '+noedns', '+ignore');
    expect(udp.flags).toContain('tc');
    expect(udp.answer.length).toBeGreaterThan(0);
    expect(udp.answer.length).toBeLessThan(40);
    expect(msgSize(udp.raw)).toBeLessThanOrEqual(512);
    expect(udp.ednsUdp).toBeUndefined();
    const tcp = await q('big.service.consul', 'A', '+tcp', '+noedns');
    expect(tcp.flags).not.toContain('tc');
    expect(tcp.answer).toHaveLength(40);
    // Without +ignore, dig itself retries over TCP on TC and gets everything.
    expect((await q('big.service.consul', 'A', '+noedns')).answer).toHaveLength(40);
  });

  it('trims SRV answers with their additional records, and returns all 40 over TCP', async () => {
    const udp = await q('big.service.consul', 'SRV', '+bufsize=1232', '+ignore');
    expect(udp.flags).toContain('tc');
    expect(msgSize(udp.raw)).toBeLessThanOrEqual(1232);
    expect(udp.answer.length).toBeLessThan(40);
    const targets = udp.answer.map((a) => a.data.split(' ')[3]).sort();
    expect(
      udp.additional
        .filter((a) => a.type === 'A')
        .map((a) => a.name)
        .sort(),
    ).toEqual(targets);
    const tcp = await q('big.service.consul', 'SRV', '+tcp');
    expect(tcp.answer).toHaveLength(40);
    expect(tcp.additional.filter((a) => a.type === 'A')).toHaveLength(40);
  });

  it('uses the EDNS0 size up to 4096 and echoes it in the OPT record', async () => {
    const big = await q('big.service.consul', 'A', '+bufsize=4096', '+ignore');
    expect(big.flags).not.toContain('tc');
    expect(big.answer).toHaveLength(40);
    expect(big.ednsUdp).toBe(4096);
    expect((await q('big.service.consul', 'A', '+bufsize=9000', '+ignore')).ednsUdp).toBe(4096);
    const small = await q('big.service.consul', 'A', '+bufsize=600', '+ignore');
    expect(small.ednsUdp).toBe(600);
    expect(small.flags).toContain('tc');
    expect(msgSize(small.raw)).toBeLessThanOrEqual(600);
    expect(small.answer.length).toBeGreaterThan(udpCount512());
  });

  it('gives node:dns the full SRV set (it retries over TCP on TC)', async () => {
    const r = new dnsPromises.Resolver({ timeout: 3000, tries: 1 });
    r.setServers([`127.0.0.1:${h.port}`]);
    expect(await r.resolveSrv('big.service.consul')).toHaveLength(40);
    expect(await r.resolve4('big.service.consul')).toHaveLength(40);
  });
});

/** A records that fit 512 bytes for big.service.consul: (512 - 12 header - 24 question) / 16. */
function udpCount512(): number {
  return Math.floor((512 - 12 - 24) / 16);
}

function frame(msg: Buffer): Buffer {
  const f = Buffer.alloc(msg.length + 2);
  f.writeUInt16BE(msg.length, 0);
  msg.copy(f, 2);
  return f;
}

const query = (id: number, name: string) => dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'A' }] });

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

const closed = (s: net.Socket, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });

describe('TCP', () => {
  it('answers pipelined queries on one connection', async () => {
    const s = await connect(h.port);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.write(Buffer.concat([frame(query(1, 'big.service.consul')), frame(query(2, 'nope.service.consul'))]));
    const deadline = Date.now() + 20_000;
    const ids: number[] = [];
    while (ids.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      let buf = Buffer.concat(chunks);
      ids.length = 0;
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        ids.push(m.id);
        if (m.id === 1) expect(m.answers).toHaveLength(40);
        if (m.id === 2) expect(m.rcode).toBe('NXDOMAIN');
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    }
    expect(ids.sort()).toEqual([1, 2]);
    s.destroy();
  });

  it('closes idle connections, refuses connections over the limit, and drops bad framing', async () => {
    const idle = await connect(h.port);
    expect(await closed(idle, 20_000)).toBe(true);

    const held = await Promise.all([connect(h.port), connect(h.port), connect(h.port)]);
    await new Promise((r) => setTimeout(r, 50));
    const extra = await connect(h.port).catch(() => undefined);
    if (extra) expect(await closed(extra, 20_000)).toBe(true);
    expect(h.dns.stats().tcpRejected).toBeGreaterThan(0);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 50));

    const bad = await connect(h.port);
    bad.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    expect(await closed(bad, 20_000)).toBe(true);
    // Still serving.
    expect((await q('big.service.consul', 'A', '+tcp')).answer).toHaveLength(40);
  });
});

describe('TCP bounds on slow and half-closed clients', () => {
  it('closes a connection whose message trickles in slower than the idle time allows', async () => {
    const s = await connect(h.port);
    s.on('error', () => undefined);
    // Announce 4,096 bytes, then send one byte every 100 ms: each byte alone would keep the
    // 400 ms idle timer from firing for ~7 minutes, so a close well inside that (the generous
    // bound below) can only come from the bound on a message's arrival time.
    s.write(Buffer.from([0x10, 0x00]));
    let sent = 0;
    const drip = setInterval(() => {
      if (!s.destroyed) {
        s.write(Buffer.from([0]));
        sent++;
      }
    }, 100);
    try {
      expect(await closed(s, 20_000)).toBe(true);
      expect(sent).toBeLessThan(4096);
    } finally {
      clearInterval(drip);
    }
  });

  it('closes a connection that announces a length over the bound without waiting for it', async () => {
    // Idle and partial-message timers of 10 minutes: a close inside the generous bound below
    // comes from reading the length, not from any timer.
    const config = buildConfig({ dnsAddr: '127.0.0.1:0' }).dns;
    const dns = await startDnsServer({ catalog: h.catalog, config, datacenter: 'dc1', nodeName: 'x', limits: { idleTimeoutMs: 600_000 } });
    try {
      const s = await connect(dns.tcpAddress.port);
      s.on('error', () => undefined);
      s.write(Buffer.from([0xff, 0xff]));
      expect(await closed(s, 20_000)).toBe(true);
    } finally {
      await dns.close();
    }
  });

  it('answers a client that sends its query and shuts down its side, then closes', async () => {
    const s = await connect(h.port);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    const ended = closed(s, 20_000);
    s.end(frame(query(7, 'big.service.consul')));
    expect(await ended).toBe(true);
    const buf = Buffer.concat(chunks);
    expect(buf.length).toBe(2 + buf.readUInt16BE(0));
    const m = decode(buf.subarray(2));
    expect(m.id).toBe(7);
    expect(m.answers).toHaveLength(40);
  });
});

describe('binding', () => {
  it('resolves a host name once and binds UDP and TCP to the same address', async () => {
    const config = buildConfig({ dnsAddr: 'localhost:0' }).dns;
    const dns = await startDnsServer({ catalog: h.catalog, config, datacenter: 'dc1', nodeName: 'x' });
    try {
      expect(['127.0.0.1', '::1']).toContain(dns.udpAddress.host);
      expect(dns.tcpAddress).toEqual(dns.udpAddress);
      const r = await dig(dns.udpAddress.port, ['big.service.consul', 'A', '+tcp'], dns.udpAddress.host);
      expect(r.answer).toHaveLength(40);
    } finally {
      await dns.close();
    }
  });

  it('fails with BEACON_ERR_STARTUP when the port is taken', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    try {
      const config = buildConfig({ dnsAddr: `127.0.0.1:${port}` }).dns;
      await expect(startDnsServer({ catalog: h.catalog, config, datacenter: 'dc1', nodeName: 'x' })).rejects.toMatchObject({ code: 'BEACON_ERR_STARTUP' });
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
    }
  });
});
