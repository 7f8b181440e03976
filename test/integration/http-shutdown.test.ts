/**
 * Requests that arrive while the server shuts down get Beacon's own retryable error —
 * `BEACON_ERR_SHUTTING_DOWN`, HTTP 503, in the route's error form (Consul routes: a text/plain
 * message with the code in X-Beacon-Error; /v1/beacon/*: JSON {code, message}) — never
 * Fastify's bare JSON 503. Covered here: requests that reach the server on kept-alive
 * connections after it stopped accepting new ones.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/index.js';
import { ERRORS, type ErrorCode } from '../../src/errors/index.js';
import { runServer, type RunningServer } from '../../src/server/index.js';
import { tempDir } from '../helpers/server.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One kept-alive HTTP/1.1 connection written by hand, so a request can be sent in pieces. */
class RawConnection {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  write(text: string): void {
    this.sock.write(text);
  }

  /** The next whole response (every answer here has a Content-Length). */
  async response(timeoutMs = 20_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.take();
      if (r) return r;
      if (this.closed) throw new Error(`connection closed before a whole response: ${JSON.stringify(this.buf.toString())}`);
      if (Date.now() > deadline) throw new Error('no response in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private take(): RawResponse | undefined {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.buf.subarray(0, end).toString().split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.buf.length < end + 4 + length) return undefined;
    const body = this.buf.subarray(end + 4, end + 4 + length).toString();
    this.buf = this.buf.subarray(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

let dir: string;
let server: RunningServer | undefined;
beforeAll(() => {
  dir = tempDir('beacon-shutdown-');
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTP during shutdown', () => {
  it("answers requests on kept-alive connections with BEACON_ERR_SHUTTING_DOWN in the route's error form", async () => {
    server = await runServer(buildConfig({ httpAddr: '127.0.0.1:0', dnsAddr: 'off', dataDir: dir, node: 'shutdown-test', logLevel: 'silent' }));
    const port = server.http.port;
    const paths = { consul: '/v1/catalog/services', beacon: '/v1/beacon/pick/web', unknown: '/v1/no/such/route' };
    const conns: Record<keyof typeof paths, RawConnection> = {
      consul: await RawConnection.open(port),
      beacon: await RawConnection.open(port),
      unknown: await RawConnection.open(port),
    };
    for (const c of Object.values(conns)) {
      // A first request keeps the connection alive (and shows it is served normally)...
      c.write('GET /v1/status/leader HTTP/1.1\r\nHost: beacon\r\n\r\n');
      const ok = await c.response();
      expect(ok.status).toBe(200);
      expect(ok.headers.connection).not.toBe('close');
    }
    // ...then the next one is sent all but its final line, so the connection is busy (not idle)
    // when close begins and closing idle connections does not end it.
    for (const [k, c] of Object.entries(conns)) c.write(`GET ${paths[k as keyof typeof paths]} HTTP/1.1\r\nHost: beacon\r\n`);
    // A round trip on another connection: the server has read those partial requests by now.
    expect((await fetch(`http://127.0.0.1:${port}/v1/status/leader`, { headers: { connection: 'close' } })).status).toBe(200);

    const closing = server.close();
    // The server stops accepting connections: what follows arrives after close began.
    const end = Date.now() + 20_000;
    while (!(await refused(port))) {
      if (Date.now() > end) throw new Error('the server kept accepting connections');
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const c of Object.values(conns)) c.write('\r\n');

    const consul = await conns.consul.response();
    expect(consul.status).toBe(503);
    expect(consul.headers['x-beacon-error']).toBe('BEACON_ERR_SHUTTING_DOWN');
    expect(consul.headers['content-type']).toMatch(/^text\/plain/);
    expect(consul.body).toBe('Server is shutting down');
    expect(consul.headers.connection).toBe('close');
    expect(consul.headers['x-consul-index']).toMatch(/^\d+$/);
    expect(ERRORS[consul.headers['x-beacon-error'] as ErrorCode]).toMatchObject({ status: 503, retryable: true });

    const beacon = await conns.beacon.response();
    expect(beacon.status).toBe(503);
    expect(beacon.headers['x-beacon-error']).toBe('BEACON_ERR_SHUTTING_DOWN');
    expect(beacon.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(beacon.body)).toEqual({ code: 'BEACON_ERR_SHUTTING_DOWN', message: 'Server is shutting down' });

    // Even a path that does not exist: the server takes no new work, so it says why.
    const unknown = await conns.unknown.response();
    expect(unknown.status).toBe(503);
    expect(unknown.headers['x-beacon-error']).toBe('BEACON_ERR_SHUTTING_DOWN');

    for (const r of [consul, beacon, unknown]) expect(r.body).not.toContain('Service Unavailable');
    await closing;
    server = undefined;
    for (const c of Object.values(conns)) c.sock.destroy();
  });
});
