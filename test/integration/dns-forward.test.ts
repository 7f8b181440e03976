/**
 * Forwarding to --recursor over the right transport: a query that came over TCP goes upstream
 * over TCP; one that came over UDP goes over UDP and, when the upstream answer is truncated,
 * is asked again over TCP. Checked against a logging dns-packet upstream (which transport was
 * used) and against a real authoritative server, NSD, whose UDP answers stop at 1232 bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, dataOf } from '../helpers/dns-decode.js';
import { dig, ensureDebianTool, ensureDig } from '../helpers/dns-dig.js';
import { startDnsHarness, type DnsHarness } from '../helpers/dns-harness.js';
import { startUpstream, type Upstream, type UpstreamRcode } from '../helpers/dns-upstream.js';
import { tempDir } from '../helpers/server.js';
import { freePort } from '../helpers/tools.js';

const msgSize = (raw: string) => Number(/MSG SIZE\s+rcvd: (\d+)/.exec(raw)?.[1]);

describe('forwarding transport (logging upstream)', () => {
  let h: DnsHarness;
  let up: Upstream;
  const transports = (name: string) => up.log.filter((l) => l.q.toLowerCase() === `${name} a`).map((l) => l.transport);

  beforeAll(async () => {
    ensureDig();
    // 60 A records: ~1 KB, more than the upstream's 512-byte UDP answers hold.
    up = await startUpstream({ records: 60, udpMax: 512 });
    h = await startDnsHarness({ recursors: [`127.0.0.1:${up.port}`] }, { dns: { recursorTimeoutMs: 1000 } });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  it('forwards a query that came over TCP over TCP, and relays the whole answer', async () => {
    const r = await dig(h.port, ['tcp-only.example.org', 'A', '+tcp']);
    expect(r.status).toBe('NOERROR');
    expect(r.answer).toHaveLength(60);
    expect(transports('tcp-only.example.org')).toEqual(['tcp']);
  });

  it('asks again over TCP when the UDP answer is truncated, and relays it when it fits the client', async () => {
    const before = h.dns.stats().forwardTcpRetries;
    const r = await dig(h.port, ['retry.example.org', 'A', '+bufsize=4096', '+ignore']);
    expect(r.flags).not.toContain('tc');
    expect(r.answer).toHaveLength(60);
    expect(msgSize(r.raw)).toBeGreaterThan(512);
    expect(transports('retry.example.org')).toEqual(['udp', 'tcp']);
    expect(h.dns.stats().forwardTcpRetries).toBe(before + 1);
  });

  it('relays TC to a UDP client whose limit the full answer exceeds; its TCP retry gets everything', async () => {
    // Offering 600 bytes: the TCP answer (~1 KB) is fetched but does not fit.
    const udp = await dig(h.port, ['small-client.example.org', 'A', '+bufsize=600', '+ignore']);
    expect(udp.flags).toContain('tc');
    expect(msgSize(udp.raw)).toBeLessThanOrEqual(600);
    expect(transports('small-client.example.org')).toEqual(['udp', 'tcp']);
    // Without EDNS the recursor was held to 512 bytes too: no TCP trip for nothing; dig's own
    // retry over TCP on TC is forwarded over TCP and gets everything.
    const full = await dig(h.port, ['small-client2.example.org', 'A', '+noedns']);
    expect(full.answer).toHaveLength(60);
    expect(transports('small-client2.example.org')).toEqual(['udp', 'tcp']);
  });

  it('answers small questions over UDP with one UDP forward', async () => {
    const r = await dig(h.port, ['small.example.org', 'AAAA']);
    expect(r.status).toBe('NOERROR');
    expect(up.log.filter((l) => l.q === 'small.example.org AAAA').map((l) => l.transport)).toEqual(['udp']);
  });
});

describe('TCP clients waiting on slow recursors', () => {
  let h: DnsHarness;
  let silent: Upstream;
  let up: Upstream;
  beforeAll(async () => {
    silent = await startUpstream({ silent: true });
    up = await startUpstream({ address: '192.0.2.9' });
    // The first recursor never answers (600 ms each); the TCP idle time is shorter than that.
    h = await startDnsHarness(
      { recursors: [`127.0.0.1:${silent.port}`, `127.0.0.1:${up.port}`] },
      { dns: { recursorTimeoutMs: 600 }, limits: { idleTimeoutMs: 300 } },
    );
  });
  afterAll(async () => {
    await h?.close();
    await silent?.close();
    await up?.close();
  });

  const ask = (id: number, halfClose: boolean) =>
    new Promise<{ answer: Buffer | undefined }>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: h.port });
      const msg = dnsPacket.encode({ id, type: 'query', questions: [{ name: `slow${id}.example.org`, type: 'A' }] });
      const f = Buffer.alloc(msg.length + 2);
      f.writeUInt16BE(msg.length, 0);
      msg.copy(f, 2);
      let buf = Buffer.alloc(0);
      let answer: Buffer | undefined;
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          answer = buf.subarray(2, 2 + buf.readUInt16BE(0));
          s.destroy();
        }
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve({ answer }));
      if (halfClose) s.end(f);
      else s.write(f);
    });

  it('keeps the connection open past the idle time while a forwarded answer is on its way', async () => {
    const r = await ask(21, false);
    expect(r.answer && decode(r.answer)).toMatchObject({ id: 21, rcode: 'NOERROR' });
    // The answer came from the second recursor, so it only existed once the silent first one's
    // 600 ms had run out: well past the 300 ms idle time, and the connection was still open.
    expect(dataOf(decode(r.answer!).answers[0])).toBe('192.0.2.9');
    expect(silent.log.some((l) => l.q.toLowerCase() === 'slow21.example.org a')).toBe(true);
  });

  it('answers a forwarded query from a client that shut down its side after sending it', async () => {
    const r = await ask(22, true);
    expect(r.answer && decode(r.answer)).toMatchObject({ id: 22, rcode: 'NOERROR' });
  });
});

describe('forwarding to a recursor without TCP', () => {
  let h: DnsHarness;
  let udpOnly: Upstream;
  beforeAll(async () => {
    ensureDig();
    udpOnly = await startUpstream({ records: 60, udpMax: 512, tcp: false });
    h = await startDnsHarness({ recursors: [`127.0.0.1:${udpOnly.port}`] }, { dns: { recursorTimeoutMs: 1000 } });
  });
  afterAll(async () => {
    await h?.close();
    await udpOnly?.close();
  });

  it('falls back to UDP for a TCP client when the recursor refuses TCP, and relays its TC answer', async () => {
    const tcp = await dig(h.port, ['x.example.org', 'A', '+tcp']);
    expect(tcp.status).toBe('NOERROR');
    expect(tcp.flags).toContain('tc');
    expect(udpOnly.log.map((l) => l.transport)).toEqual(['udp']);
    const udp = await dig(h.port, ['y.example.org', 'A', '+bufsize=4096', '+ignore']);
    expect(udp.status).toBe('NOERROR');
    expect(udp.flags).toContain('tc');
  });
});

describe('forwarding to NSD (a real authoritative server)', () => {
  let h: DnsHarness;
  let nsd: ChildProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    ensureDig();
    const nsdPath = ensureDebianTool('nsd', ['nsd']);
    dir = tempDir('beacon-nsd-');
    const port = await freePort();
    const zone = [
      '$ORIGIN example.test.',
      '@ 60 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60',
      '@ 60 IN NS ns.example.test.',
      'ns 60 IN A 127.0.0.1',
      'small 60 IN A 192.0.2.1',
      // 100 A records: about 1.7 KB, over NSD's 1232-byte UDP limit, under 4096.
      ...Array.from({ length: 100 }, (_, i) => `big 60 IN A 198.51.100.${i + 1}`),
    ];
    writeFileSync(join(dir, 'example.test.zone'), `${zone.join('\n')}\n`);
    writeFileSync(
      join(dir, 'nsd.conf'),
      `server:
  ip-address: 127.0.0.1@${port}
  port: ${port}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  pidfile: "${join(dir, 'nsd.pid')}"
  database: ""
  xfrdfile: "${join(dir, 'xfrd.state')}"
  zonelistfile: "${join(dir, 'zone.list')}"
  logfile: "${join(dir, 'nsd.log')}"
  verbosity: 1
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.test
  zonefile: example.test.zone
`,
    );
    nsd = spawn(nsdPath, ['-d', '-c', join(dir, 'nsd.conf')], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await dig(port, ['small.example.test', 'A']).catch(() => undefined);
      if (r?.answer.length === 1) break;
      if (Date.now() > deadline) throw new Error(`NSD did not start: ${readFileSync(join(dir, 'nsd.log'), 'utf8')}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    // NSD itself truncates big.example.test over UDP even when offered 4096 bytes.
    expect((await dig(port, ['big.example.test', 'A', '+bufsize=4096', '+ignore'])).flags).toContain('tc');
    h = await startDnsHarness({ recursors: [`127.0.0.1:${port}`] }, { dns: { recursorTimeoutMs: 2000 } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    if (nsd && nsd.exitCode === null) {
      const exited = new Promise((res) => nsd!.once('exit', res));
      nsd.kill('SIGTERM');
      await exited;
    }
  });

  it('relays small answers over UDP and TCP', async () => {
    for (const args of [[], ['+tcp']]) {
      const r = await dig(h.port, ['small.example.test', 'A', ...args]);
      expect(
        r.answer.map((a) => a.data),
        args.join(),
      ).toEqual(['192.0.2.1']);
      expect(r.flags).toContain('ra');
    }
  });

  it('gives a TCP client the whole RRset', async () => {
    const r = await dig(h.port, ['big.example.test', 'A', '+tcp']);
    expect(r.flags).not.toContain('tc');
    expect(r.answer).toHaveLength(100);
  });

  it('gives a UDP client offering 4096 bytes the whole RRset, fetched from NSD over TCP', async () => {
    const before = h.dns.stats().forwardTcpRetries;
    const r = await dig(h.port, ['big.example.test', 'A', '+bufsize=4096', '+ignore']);
    expect(r.flags).not.toContain('tc');
    expect(r.answer).toHaveLength(100);
    expect(msgSize(r.raw)).toBeGreaterThan(1232);
    expect(h.dns.stats().forwardTcpRetries).toBe(before + 1);
  });

  it('sets TC for a UDP client without EDNS, and dig then gets everything over TCP', async () => {
    const udp = await dig(h.port, ['big.example.test', 'A', '+noedns', '+ignore']);
    expect(udp.flags).toContain('tc');
    expect(msgSize(udp.raw)).toBeLessThanOrEqual(512);
    expect((await dig(h.port, ['big.example.test', 'A', '+noedns'])).answer).toHaveLength(100);
  });
});

/**
 * Recursors that answer an error without echoing the question, as real servers do with FORMERR,
 * SERVFAIL, REFUSED and NOTIMP. Such a reply (right ID, right source, error rcode, empty question)
 * is taken at once; as in Consul's handleRecurse, any rcode but NOERROR and NXDOMAIN means that
 * recursor failed: the next is asked at once, and SERVFAIL is answered when none is left. A reply
 * with the right ID but another question (or none, with NOERROR) is still ignored.
 */
describe('recursor error replies without the question', () => {
  // `one` and `twoAtOnce` give a recursor 60 s: an answer before dig's own 3 s timeout was not
  // waiting on a recursor. `two` and `stray` give it 1.5 s, for the replies that are ignored
  // (the first recursor's time runs out, then the second answers).
  const LONG = 60_000;
  const TIMEOUT = 1500;
  let one: DnsHarness;
  let twoAtOnce: DnsHarness;
  let two: DnsHarness;
  let stray: DnsHarness;
  let errUp: Upstream;
  let otherPort: Upstream;
  let good: Upstream;
  // The first label says how errUp replies: "<rcode>-<echo|empty|other>".
  const shape = (name: string) => {
    const m = /^(noerror|formerr|servfail|nxdomain|notimp|refused)-(echo|empty|other)\./i.exec(name);
    return m ? { rcode: m[1].toUpperCase() as UpstreamRcode, question: m[2].toLowerCase() as 'echo' | 'empty' | 'other' } : undefined;
  };
  const asked = (u: Upstream, name: string) => u.log.filter((l) => l.q.toLowerCase() === `${name} a`);

  beforeAll(async () => {
    ensureDig();
    errUp = await startUpstream({ reply: shape });
    good = await startUpstream({ address: '192.0.2.33' });
    one = await startDnsHarness({ recursors: [`127.0.0.1:${errUp.port}`] }, { dns: { recursorTimeoutMs: LONG } });
    twoAtOnce = await startDnsHarness({ recursors: [`127.0.0.1:${errUp.port}`, `127.0.0.1:${good.port}`] }, { dns: { recursorTimeoutMs: LONG } });
    two = await startDnsHarness({ recursors: [`127.0.0.1:${errUp.port}`, `127.0.0.1:${good.port}`] }, { dns: { recursorTimeoutMs: TIMEOUT } });
    otherPort = await startUpstream({ reply: { rcode: 'REFUSED', question: 'empty' }, udpFromOtherPort: true });
    stray = await startDnsHarness({ recursors: [`127.0.0.1:${otherPort.port}`, `127.0.0.1:${good.port}`] }, { dns: { recursorTimeoutMs: TIMEOUT } });
  });
  afterAll(async () => {
    await one?.close();
    await twoAtOnce?.close();
    await two?.close();
    await stray?.close();
    await errUp?.close();
    await otherPort?.close();
    await good?.close();
  });

  for (const rcode of ['FORMERR', 'SERVFAIL', 'NOTIMP', 'REFUSED']) {
    for (const transport of ['udp', 'tcp'] as const) {
      it(`answers SERVFAIL at once when the only recursor says ${rcode} without the question (${transport})`, async () => {
        const name = `${rcode.toLowerCase()}-empty.${transport}.example.org`;
        const before = one.dns.stats();
        const r = await dig(one.port, [name, 'A', ...(transport === 'tcp' ? ['+tcp'] : [])]);
        expect(r.status).toBe('SERVFAIL');
        expect(r.flags).toContain('ra');
        // The client's question is in the answer, though the recursor's had none.
        expect(r.raw).toMatch(/QUERY: 1,/);
        expect(r.raw).toContain(`;${name}.`);
        // Asked once, over the client's transport (no UDP fallback after a TCP error answer).
        expect(asked(errUp, name).map((l) => l.transport)).toEqual([transport]);
        const after = one.dns.stats();
        expect(after.forwardErrorReplies).toBe(before.forwardErrorReplies + 1);
        expect(after.forwardFailures).toBe(before.forwardFailures + 1);
      });
    }
  }

  for (const transport of ['udp', 'tcp'] as const) {
    it(`asks the second recursor at once when the first says REFUSED without the question (${transport})`, async () => {
      const name = `refused-empty.two-${transport}.example.org`;
      const before = twoAtOnce.dns.stats();
      const r = await dig(twoAtOnce.port, [name, 'A', ...(transport === 'tcp' ? ['+tcp'] : [])]);
      expect(r.status).toBe('NOERROR');
      expect(r.answer.map((a) => a.data)).toEqual(['192.0.2.33']);
      const first = asked(errUp, name);
      const second = asked(good, name);
      expect(first.map((l) => l.transport)).toEqual([transport]);
      expect(second.map((l) => l.transport)).toEqual([transport]);
      expect(twoAtOnce.dns.stats().forwardErrorReplies).toBe(before.forwardErrorReplies + 1);
    });
  }

  it('moves on just the same when the error answer echoes the question', async () => {
    const name = 'servfail-echo.two.example.org';
    const before = twoAtOnce.dns.stats();
    const r = await dig(twoAtOnce.port, [name, 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.answer.map((a) => a.data)).toEqual(['192.0.2.33']);
    expect(asked(good, name)).toHaveLength(1);
    expect(twoAtOnce.dns.stats().forwardErrorReplies).toBe(before.forwardErrorReplies + 1);
  });

  it("relays NXDOMAIN without the question at once, with the client's question put back", async () => {
    for (const transport of ['udp', 'tcp']) {
      const name = `nxdomain-empty.${transport}.example.org`;
      const r = await dig(one.port, [name, 'A', ...(transport === 'tcp' ? ['+tcp'] : [])]);
      expect(r.status, transport).toBe('NXDOMAIN');
      expect(r.raw, transport).toMatch(/QUERY: 1,/);
      expect(r.raw, transport).toContain(`;${name}.`);
      // NXDOMAIN is an answer (as in Consul): the second recursor is not asked.
      const viaTwo = await dig(two.port, [`nxdomain-empty.two-${transport}.example.org`, 'A', ...(transport === 'tcp' ? ['+tcp'] : [])]);
      expect(viaTwo.status, transport).toBe('NXDOMAIN');
      expect(asked(good, `nxdomain-empty.two-${transport}.example.org`), transport).toEqual([]);
    }
  });

  for (const [kind, label] of [
    ['another question', 'servfail-other'],
    ['no question but NOERROR', 'noerror-empty'],
  ] as const) {
    for (const transport of ['udp', 'tcp'] as const) {
      it(`still ignores a reply with the right ID and ${kind} (${transport})`, async () => {
        const name = `${label}.${transport}.example.org`;
        const before = two.dns.stats();
        const r = await dig(two.port, [name, 'A', ...(transport === 'tcp' ? ['+tcp'] : [])]);
        // Ignored: the first recursor is given its whole time, then the second answers. Taken
        // as an error reply instead, it would have been counted as one.
        expect(r.status).toBe('NOERROR');
        expect(r.answer.map((a) => a.data)).toEqual(['192.0.2.33']);
        expect(asked(errUp, name).length).toBeGreaterThanOrEqual(1);
        expect(two.dns.stats().forwardErrorReplies).toBe(before.forwardErrorReplies);
      });
    }
  }

  it('still ignores an error reply without the question that comes from another port (udp)', async () => {
    const name = 'from-other-port.example.org';
    const before = stray.dns.stats();
    const r = await dig(stray.port, [name, 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.answer.map((a) => a.data)).toEqual(['192.0.2.33']);
    expect(asked(otherPort, name).map((l) => l.transport)).toEqual(['udp']);
    expect(stray.dns.stats().forwardErrorReplies).toBe(before.forwardErrorReplies);
  });
});
