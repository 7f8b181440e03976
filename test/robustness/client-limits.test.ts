/**
 * Limits that keep one client from hurting the rest, tried against a real server the way an
 * attacker on the same network would: a write flood from one address (429 with Retry-After
 * while another address is served), a dnsperf burst from one source (answers dropped and
 * slipped, a second source served in full), DNS-over-TCP connections from one address (past its
 * share closed at once), and health checks pointed at the cloud metadata address (refused).
 * Every 127.x.y.z address is this host's loopback, so 127.0.0.1 and 127.1.0.1 are two clients in
 * two /24 prefixes.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, type Decoded } from '../helpers/dns-decode.js';
import { dig } from '../helpers/dns-dig.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ensureTool } from '../helpers/tools.js';

const OTHER_CLIENT = '127.1.0.1';
const WRITE_RATE = 5;
const DNS_RATE = 20;

let server: RunningServer;
let dir: string;
const other = new Agent({ localAddress: OTHER_CLIENT });
const sockets: Socket[] = [];

async function metric(name: string): Promise<number> {
  const text = await (await request(`${server.httpUrl}/metrics`)).body.text();
  let sum = 0;
  for (const l of text.split('\n')) if (l.startsWith(name) && !l.startsWith('#')) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  return sum;
}

/** A write that waits out 429s (as a well-behaved client does), bounded in tries. */
async function patientPut(path: string, body: unknown): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const res = await request(`${server.httpUrl}${path}`, { method: 'PUT', body: JSON.stringify(body) });
    await res.body.text();
    if (res.statusCode === 200) return;
    expect(res.statusCode).toBe(429);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`PUT ${path} still limited after 40 tries`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'beacon-limits-'));
  server = await startServer({
    args: ['--http-write-rate', String(WRITE_RATE), '--dns-rrl-rate', String(DNS_RATE), '--dns-rrl-slip', '2'],
  });
  for (let i = 0; i < 3; i++) {
    await patientPut('/v1/agent/service/register', { ID: `web-${i}`, Name: 'web', Address: `10.0.0.${i + 1}`, Port: 8080 + i });
  }
  await patientPut('/v1/agent/service/register', { ID: 'hb', Name: 'hb', Port: 9000, Check: { TTL: '60s' } });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await other.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('write rate per client address', () => {
  it('answers 429 with Retry-After past the rate, changes nothing for refused writes, and serves another address meanwhile', async () => {
    const before = await metric('beacon_http_rate_limited_total');
    const flood = Array.from({ length: 60 }, (_, i) =>
      request(`${server.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ ID: `flood-${i}`, Name: 'flood', Port: 1000 + i }) }).then(
        async (res) => ({ i, status: res.statusCode, headers: res.headers, body: await res.body.text() }),
      ),
    );
    const fromOther = Array.from({ length: 3 }, (_, i) =>
      request(`${server.httpUrl}/v1/agent/service/register`, {
        method: 'PUT',
        dispatcher: other,
        body: JSON.stringify({ ID: `other-${i}`, Name: 'other', Port: 2000 + i }),
      }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() })),
    );
    const results = await Promise.all(flood);
    const others = await Promise.all(fromOther);

    const limited = results.filter((r) => r.status === 429);
    const accepted = results.filter((r) => r.status === 200);
    expect(limited.length).toBeGreaterThan(0);
    expect(accepted.length + limited.length).toBe(60);
    for (const r of limited) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(r.headers['x-beacon-error']).toBe('BEACON_ERR_RATE_LIMITED');
      expect(r.body).toMatch(/^Too many writes from this client: the limit is 5 per second; retry in \d+ s$/);
    }
    expect(others.map((o) => o.status)).toEqual([200, 200, 200]);

    // Exactly the accepted registrations exist: a refused write changed nothing.
    const services = (await (await request(`${server.httpUrl}/v1/agent/services`)).body.json()) as Record<string, unknown>;
    const flooded = Object.keys(services)
      .filter((id) => id.startsWith('flood-'))
      .sort();
    expect(flooded).toEqual(accepted.map((r) => `flood-${r.i}`).sort());
    expect(await metric('beacon_http_rate_limited_total')).toBe(before + limited.length);
  });

  it('does not count TTL heartbeats or reads', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const hb = await request(`${server.httpUrl}/v1/agent/check/pass/service:hb`, { method: 'PUT' });
      await hb.body.text();
      const read = await request(`${server.httpUrl}/v1/health/service/web`);
      await read.body.text();
      statuses.push(hb.statusCode, read.statusCode);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
  });
});

describe('DNS response rate limiting', () => {
  const query = (id: number) =>
    dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'SRV', name: 'web.service.consul', class: 'IN' }] });

  it('a dnsperf burst from one source is dropped and slipped while a second source gets full answers', async () => {
    const dnsperf = ensureTool('dnsperf', 'dnsperf');
    const queries = join(dir, 'queries.txt');
    writeFileSync(queries, 'web.service.consul SRV\n'.repeat(100));
    const droppedBefore = await metric('beacon_dns_rate_limit_dropped_total');
    const slippedBefore = await metric('beacon_dns_rate_limit_slipped_total');
    const burst = spawn(dnsperf, ['-s', '127.0.0.1', '-a', '127.0.0.1', '-p', String(server.dnsPort), '-d', queries, '-l', '3', '-Q', '2000', '-t', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    burst.stdout.on('data', (d: Buffer) => (out += d.toString()));
    burst.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((r) => burst.once('exit', r));
    try {
      // While the burst runs, the other prefix is answered in full (three instances).
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 3; i++) {
        const r = await dig(server.dnsPort!, ['-b', OTHER_CLIENT, 'web.service.consul', 'SRV']);
        expect(r.status).toBe('NOERROR');
        expect(r.flags).not.toContain('tc');
        expect(r.answer.filter((a) => a.type === 'SRV')).toHaveLength(3);
      }
    } finally {
      const code = await done;
      expect(code, out).toBe(0);
    }
    // dnsperf saw queries go unanswered; the server dropped and slipped some of them.
    expect(out).toMatch(/Queries lost:\s+[1-9]/);
    expect(await metric('beacon_dns_rate_limit_dropped_total')).toBeGreaterThan(droppedBefore);
    expect(await metric('beacon_dns_rate_limit_slipped_total')).toBeGreaterThan(slippedBefore);
  });

  it('a slipped answer is truncated and empty, so a real client retries over TCP and is answered there', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.2.0.1', r));
    const answers: Decoded[] = [];
    sock.on('message', (m) => answers.push(decode(m)));
    const sent = 100;
    for (let i = 0; i < sent; i++) sock.send(query(i + 1), server.dnsPort, '127.0.0.1');
    // Wait until the answers stop coming (bounded).
    let seen = -1;
    for (let i = 0; i < 40 && seen !== answers.length; i++) {
      seen = answers.length;
      await new Promise((r) => setTimeout(r, 250));
    }
    sock.close();
    const full = answers.filter((a) => !a.flag_tc && a.answers.length === 3);
    const slipped = answers.filter((a) => a.flag_tc);
    expect(full.length).toBeGreaterThanOrEqual(1);
    expect(slipped.length).toBeGreaterThanOrEqual(1);
    for (const s of slipped) {
      expect(s.answers).toEqual([]);
      expect(s.questions[0]?.name).toBe('web.service.consul');
    }
    expect(answers.length).toBeLessThan(sent);
    // Over TCP the same source is not limited.
    const tcp = await dig(server.dnsPort!, ['-b', '127.2.0.1', '+tcp', 'web.service.consul', 'SRV']);
    expect(tcp.answer.filter((a) => a.type === 'SRV')).toHaveLength(3);
  });

  it('one client address may hold 16 DNS-over-TCP connections; past that its new ones close at once while another address is served', async () => {
    const open = (localAddress: string) =>
      new Promise<{ sock: Socket; closed: Promise<void> }>((resolve, reject) => {
        const sock = connect({ port: server.dnsPort!, host: '127.0.0.1', localAddress });
        sockets.push(sock);
        sock.once('error', () => undefined);
        const closed = new Promise<void>((r) => sock.once('close', () => r()));
        sock.once('connect', () => resolve({ sock, closed }));
        sock.once('error', reject);
      });
    const held = [];
    for (let i = 0; i < 16; i++) held.push(await open('127.3.0.1'));
    const refusedBefore = await metric('beacon_dns_tcp_refused_total{reason="per_client"}');
    const extra = await open('127.3.0.1');
    await Promise.race([extra.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('17th connection not closed within 10 s')), 10_000))]);
    const r = await dig(server.dnsPort!, ['-b', OTHER_CLIENT, '+tcp', 'web.service.consul', 'SRV']);
    expect(r.answer.filter((a) => a.type === 'SRV')).toHaveLength(3);
    expect(await metric('beacon_dns_tcp_refused_total{reason="per_client"}')).toBe(refusedBefore + 1);
    for (const h of held) h.sock.destroy();
  });
});

describe('reads that cost the server', () => {
  it('a cache-busting GET flood of large answers leaves the response cache within 64 MiB and the process within a bound', async () => {
    // Ten instances with 64 metadata values of 500 bytes: each /v1/agent/services answer is ~330 KB.
    const meta: Record<string, string> = {};
    for (let k = 0; k < 64; k++) meta[`k${k}`] = 'x'.repeat(500);
    for (let i = 0; i < 10; i++) await patientPut('/v1/agent/service/register', { ID: `big-${i}`, Name: 'big', Port: 9100 + i, Meta: meta });
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))?.[1] ?? 'NaN') * 1024;
    const before = rss();
    const pool = new Agent({ connections: 8 });
    try {
      // Each URL twice (a URL asked once is not kept at all): 500 URLs x 330 KB would be 165 MB kept.
      const urls = Array.from({ length: 500 }, (_, n) => `${server.httpUrl}/v1/agent/services?cachebust=${n}`);
      for (let i = 0; i < urls.length; i += 25) {
        await Promise.all(
          urls.slice(i, i + 25).flatMap((u) =>
            [0, 1].map(async () => {
              const res = await request(u, { dispatcher: pool });
              expect(res.statusCode).toBe(200);
              await res.body.dump();
            }),
          ),
        );
      }
    } finally {
      await pool.close();
    }
    const cached = await metric('beacon_http_response_cache_bytes');
    expect(cached).toBeGreaterThan(10 * 1024 * 1024);
    expect(cached).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(rss() - before).toBeLessThan(300 * 1024 * 1024);
  });

  it('a pathological filter regex is answered within a bound while other requests go on', async () => {
    await patientPut('/v1/agent/service/register', { ID: 'evil', Name: 'evil', Port: 9200, Meta: { v: `${'a'.repeat(32)}b` } });
    const filter = encodeURIComponent('Meta.v matches "^(a+)+$"');
    const evil = request(`${server.httpUrl}/v1/agent/services?filter=${filter}`).then(async (res) => ({ status: res.statusCode, body: await res.body.json() }));
    const others = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await request(`${server.httpUrl}/v1/health/service/web`);
        await res.body.dump();
        return res.statusCode;
      }),
    );
    expect(others.every((s) => s === 200)).toBe(true);
    const answer = await Promise.race([
      evil,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('the regex filter was not answered within 10 s')), 10_000)),
    ]);
    expect(answer).toEqual({ status: 200, body: {} });
  });
});

describe('health checks and the cloud metadata address', () => {
  it('an HTTP or TCP check pointed at 169.254.169.254 turns critical saying why, and never reaches it', async () => {
    await patientPut('/v1/agent/service/register', {
      ID: 'steal',
      Name: 'steal',
      Port: 80,
      Checks: [
        { CheckID: 'meta-http', HTTP: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', Interval: '1s' },
        { CheckID: 'meta-tcp', TCP: '169.254.169.254:80', Interval: '1s' },
      ],
    });
    let checks: Record<string, { Status: string; Output: string }> = {};
    for (let i = 0; i < 60; i++) {
      checks = (await (await request(`${server.httpUrl}/v1/agent/checks`)).body.json()) as typeof checks;
      if (/metadata/.test(checks['meta-http']?.Output ?? '') && /metadata/.test(checks['meta-tcp']?.Output ?? '')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const id of ['meta-http', 'meta-tcp']) {
      expect(checks[id].Status).toBe('critical');
      expect(checks[id].Output).toMatch(
        /169\.254\.169\.254 is a cloud metadata address; checks may not reach it \(start the server with --allow-metadata-checks/,
      );
    }
  });
});
