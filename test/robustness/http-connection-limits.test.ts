/**
 * One client cannot hold all of a server's connections: past --http-max-conns-per-client its new
 * connections are closed at once while other work goes on, and a connection that sends no
 * complete headers is closed after the headers timeout (10 s) instead of being kept.
 */
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer({ args: ['--http-max-conns-per-client', '5'], dnsAddr: 'off' });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await server?.stop();
});

/** Opens a raw connection and resolves once connected, with a promise of how it ends. */
function open(): Promise<{ sock: Socket; ended: Promise<{ data: string }> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(server.httpPort, server.httpHost);
    sockets.push(sock);
    let data = '';
    sock.on('data', (d: Buffer) => (data += d.toString()));
    const ended = new Promise<{ data: string }>((r) => sock.once('close', () => r({ data })));
    sock.once('error', () => undefined);
    sock.once('connect', () => resolve({ sock, ended }));
    sock.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms))]);

async function metric(name: string): Promise<string> {
  const res = await request(`${server.httpUrl}/metrics`);
  const text = await res.body.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

describe('HTTP connection limits', () => {
  it('closes a client’s connection past its limit at once, and takes it again once one of its connections closed', async () => {
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await open());
    const sixth = await open();
    const ended = await within(sixth.ended, 10_000, 'the sixth connection closed by the server');
    expect(ended.data).toBe('');
    // Meanwhile another client address (127.1.0.1 is this host too) is served.
    const other = new Agent({ localAddress: '127.1.0.1' });
    try {
      const res = await request(`${server.httpUrl}/v1/status/leader`, { dispatcher: other });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    } finally {
      await other.close();
    }
    // The five held are still open; one goes, and a request gets through.
    held[0].sock.destroy();
    await held[0].ended;
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      try {
        const res = await request(`${server.httpUrl}/v1/status/leader`, { reset: true });
        status = res.statusCode;
        await res.body.text();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(status).toBe(200);
    for (const h of held.slice(1)) h.sock.destroy();
    await Promise.all(held.slice(1).map((h) => h.ended));
    expect(await metric('beacon_http_connections_refused_total{reason="per_client"}')).toMatch(/ [1-9]\d*$/);
  });

  it('closes a connection whose headers never complete (about 10 s), not after a minute', async () => {
    const slow = await open();
    slow.sock.write('GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n');
    const ended = await within(slow.ended, 45_000, 'the slow-header connection closed');
    // Node answers 408 before closing, or just closes.
    expect(ended.data === '' || ended.data.startsWith('HTTP/1.1 408')).toBe(true);
  }, 60_000);
});
