import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpDrain } from './http-drain.js';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A server whose handler answers once the whole body is in. */
async function listen(): Promise<{ server: Server; drain: HttpDrain; port: number }> {
  const s = createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => res.end(`got ${n}`));
  });
  const drain = new HttpDrain(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  server = s;
  return { server: s, drain, port: (s.address() as net.AddressInfo).port };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
    sock.on('error', reject);
  });
}

const closed = (sock: net.Socket) => new Promise<void>((r) => (sock.destroyed ? r() : sock.once('close', () => r())));
const serverClose = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('HttpDrain', () => {
  it('cuts a client that stopped in the middle of its body once the grace period is over, and says so', async () => {
    const { server: s, drain, port } = await listen();
    const stalled = await connect(port);
    stalled.on('error', () => undefined);
    stalled.write('PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{"Name":');
    // A connection that never sent a byte is not idle for node:http (no request has ended on it).
    const silent = await connect(port);
    silent.on('error', () => undefined);
    // Both connections are the server's before it closes.
    for (let i = 0; i < 200 && (drain.connections < 2 || drain.requests < 1); i++) await new Promise((r) => setTimeout(r, 10));
    expect([drain.connections, drain.requests]).toEqual([2, 1]);
    s.closeIdleConnections();
    const cut = await drain.close(serverClose(s), 200);
    expect(cut).toEqual({ connections: 2, requests: 1 });
    await Promise.all([closed(stalled), closed(silent)]);
    for (let i = 0; i < 100 && drain.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(drain.connections).toBe(0);
  });

  it('cuts nothing when running requests finish in time', async () => {
    const { server: s, drain, port } = await listen();
    const sock = await connect(port);
    sock.write('PUT /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 4\r\n\r\nab');
    for (let i = 0; i < 200 && drain.requests < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const closing = drain.close(serverClose(s), 30_000);
    sock.write('cd');
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString()));
    expect(await closing).toEqual({ connections: 0, requests: 0 });
    await closed(sock);
    expect(answer).toMatch(/got 4$/);
  });
});
