/**
 * Real check targets on loopback for tests: an HTTP(S) server whose answer can be flipped
 * (200, 429, 500, or no answer), a TCP port that refuses, a gRPC server implementing
 * grpc.health.v1.Health/Check (plain or TLS), and script arguments that exit with a given code.
 * TLS targets use the self-signed certificate in test/fixtures/tls (CN beacon-test, SAN
 * localhost and 127.0.0.1), which no client trusts unless told to skip verification.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Server as GrpcServer, ServerCredentials, status as grpcStatus, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { decodeHealthCheckRequest, encodeHealthCheckResponse, HEALTH_CHECK_METHOD } from './grpc-health-proto.js';

export type HttpMode = 200 | 429 | 500 | 'hang';

export interface HttpTarget {
  url: string;
  mode: HttpMode;
  /** Every request received: what it was, when (Date.now()), what it was answered and, over TLS, the SNI name sent ('' for none). */
  requests: { method: string; url: string; headers: IncomingHttpHeaders; body: string; at: number; mode: HttpMode; servername?: string }[];
  close(): Promise<void>;
}

const fixturePath = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/tls/${name}`, import.meta.url));
const fixture = (name: string): Buffer => readFileSync(fixturePath(name));

/** The test certificate's file: a CA (self-signed) to trust, e.g. as NODE_EXTRA_CA_CERTS. */
export const TEST_CERT_FILE = fixturePath('cert.pem');

/** The self-signed test certificate and its key. */
export function testTls(): { cert: Buffer; key: Buffer } {
  return { cert: fixture('cert.pem'), key: fixture('key.pem') };
}

/** An HTTP server answering `mode` (set it any time); 'hang' never answers. With `tls`, HTTPS with the test certificate. */
export async function httpTarget(mode: HttpMode = 200, body = 'ok', opts: { tls?: boolean } = {}): Promise<HttpTarget> {
  const sockets = new Set<Socket>();
  const target: HttpTarget = { url: '', mode, requests: [], close: () => Promise.resolve() };
  const handler: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      const sni = opts.tls ? { servername: (req.socket as TLSSocket).servername || '' } : {};
      target.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: b, at: Date.now(), mode: target.mode, ...sni });
      if (target.mode === 'hang') return;
      res.writeHead(target.mode, { 'content-type': 'text/plain' }).end(body);
    });
  };
  const server: HttpServer = opts.tls ? createHttpsServer(testTls(), handler) : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  target.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/health`;
  target.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return target;
}

/** A loopback port nothing listens on any more (connections are refused). */
export async function closedPort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP listener that accepts and closes connections. */
export async function tcpTarget(): Promise<{ addr: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return {
    addr: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

export interface GrpcTarget {
  addr: string;
  /** Serving status per service name ('' is the server as a whole): 1 SERVING, 2 NOT_SERVING. */
  statuses: Map<string, number>;
  /** When true, calls are never answered. */
  hang: boolean;
  close(): Promise<void>;
}

/** A real gRPC server implementing grpc.health.v1.Health/Check; unknown services answer NOT_FOUND. With `tls`, the test certificate. */
export async function grpcTarget(opts: { tls?: boolean } = {}): Promise<GrpcTarget> {
  const server = new GrpcServer();
  const target: GrpcTarget = { addr: '', statuses: new Map([['', 1]]), hang: false, close: () => Promise.resolve() };
  server.addService(
    {
      Check: {
        path: HEALTH_CHECK_METHOD,
        requestStream: false,
        responseStream: false,
        // The request is wrapped in an object: grpc-js takes a falsy message ('' for the whole server) as none.
        requestSerialize: (r: { service: string }) => Buffer.from(r.service),
        requestDeserialize: (b: Buffer) => ({ service: decodeHealthCheckRequest(b) }),
        responseSerialize: (n: number) => encodeHealthCheckResponse(n),
        responseDeserialize: (b: Buffer) => b.length,
      },
    },
    {
      Check: (call: ServerUnaryCall<{ service: string }, number>, cb: sendUnaryData<number>) => {
        if (target.hang) return;
        const s = target.statuses.get(call.request.service);
        if (s === undefined) cb({ code: grpcStatus.NOT_FOUND, details: `unknown service ${call.request.service}` });
        else cb(null, s);
      },
    },
  );
  const { cert, key } = testTls();
  const creds = opts.tls ? ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
  target.addr = `127.0.0.1:${port}`;
  target.close = () =>
    new Promise<void>((r) => {
      server.forceShutdown();
      r();
    });
  return target;
}

/**
 * A TLS front (test certificate, ALPN h2) for a plain-text target such as grpcTarget(): it records
 * the SNI name each client sent ('' for none) and relays the decrypted stream to `backend`.
 */
export async function tlsFront(backend: string): Promise<{ addr: string; servernames: string[]; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const servernames: string[] = [];
  const [host, port] = [backend.slice(0, backend.lastIndexOf(':')), Number(backend.slice(backend.lastIndexOf(':') + 1))];
  const srv = createTlsServer({ ...testTls(), ALPNProtocols: ['h2'] }, (s: TLSSocket) => {
    servernames.push(s.servername || '');
    const b = tcpConnect(port, host);
    for (const x of [s, b]) {
      sockets.add(x);
      x.on('close', () => sockets.delete(x));
      x.on('error', () => undefined);
    }
    s.pipe(b).pipe(s);
    s.on('close', () => b.destroy());
    b.on('close', () => s.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port: p } = srv.address() as AddressInfo;
  return {
    addr: `127.0.0.1:${p}`,
    servernames,
    close: () =>
      new Promise<void>((r) => {
        for (const x of sockets) x.destroy();
        srv.close(() => r());
      }),
  };
}

/** Script check arguments (no shell): print `out`, exit with `code`. */
export function scriptArgs(code: number, out = `exit ${code}`): string[] {
  return [process.execPath, '-e', `process.stdout.write(${JSON.stringify(out)}); process.exit(${code})`];
}

/** Script check arguments that never finish on their own. */
export function hangingScriptArgs(): string[] {
  return [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
}
