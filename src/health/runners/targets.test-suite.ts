/**
 * Real check targets on loopback for tests: an HTTP server whose answer can be flipped
 * (200, 429, 500, or no answer), a TCP port that refuses, a gRPC server implementing
 * grpc.health.v1.Health/Check, and script arguments that exit with a given code.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { Server as GrpcServer, ServerCredentials, status as grpcStatus, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { decodeHealthCheckRequest, encodeHealthCheckResponse, HEALTH_CHECK_METHOD } from './grpc-health-proto.js';

export type HttpMode = 200 | 429 | 500 | 'hang';

export interface HttpTarget {
  url: string;
  mode: HttpMode;
  requests: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** An HTTP server answering `mode` (set it any time); 'hang' never answers. */
export async function httpTarget(mode: HttpMode = 200, body = 'ok'): Promise<HttpTarget> {
  const sockets = new Set<Socket>();
  const target: HttpTarget = { url: '', mode, requests: [], close: async () => undefined };
  const server: HttpServer = createHttpServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      target.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: b });
      if (target.mode === 'hang') return;
      res.writeHead(target.mode, { 'content-type': 'text/plain' }).end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  target.url = `http://127.0.0.1:${port}/health`;
  target.close = () => new Promise<void>((r) => {
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
    close: () => new Promise<void>((r) => {
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

/** A real gRPC server implementing grpc.health.v1.Health/Check; unknown services answer NOT_FOUND. */
export async function grpcTarget(): Promise<GrpcTarget> {
  const server = new GrpcServer();
  const target: GrpcTarget = { addr: '', statuses: new Map([['', 1]]), hang: false, close: async () => undefined };
  server.addService(
    {
      Check: {
        path: HEALTH_CHECK_METHOD, requestStream: false, responseStream: false,
        // The request is wrapped in an object: grpc-js takes a falsy message ('' for the whole server) as none.
        requestSerialize: (r: { service: string }) => Buffer.from(r.service), requestDeserialize: (b: Buffer) => ({ service: decodeHealthCheckRequest(b) }),
        responseSerialize: (n: number) => encodeHealthCheckResponse(n), responseDeserialize: (b: Buffer) => b.length,
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
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))));
  target.addr = `127.0.0.1:${port}`;
  target.close = () => new Promise<void>((r) => {
    server.forceShutdown();
    r();
  });
  return target;
}

/** Script check arguments (no shell): print `out`, exit with `code`. */
export function scriptArgs(code: number, out = `exit ${code}`): string[] {
  return [process.execPath, '-e', `process.stdout.write(${JSON.stringify(out)}); process.exit(${code})`];
}

/** Script check arguments that never finish on their own. */
export function hangingScriptArgs(): string[] {
  return [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
}
