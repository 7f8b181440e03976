/**
 * Errors Node's HTTP parser finds before a request reaches Fastify (a malformed request line,
 * header or chunked body; headers too large; a request that does not arrive in time), an
 * HTTP/1.1 request without Host, an unmet `Expect` header and a CONNECT request. Node and Fastify answer these with their own bodies and no code; here
 * they get Beacon's form like every other error: `X-Beacon-Error`, Consul's headers, a text
 * message (JSON `{code, message}` on /v1/beacon/*).
 */
import { STATUS_CODES, maxHeaderSize, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BeaconError } from '../../errors/index.js';
import { errorPayload } from './replies.js';

/** How long a connection closed after a protocol error may take to finish sending (as Go's closeWriteAndWait). */
const LINGER_MS = 500;

/** The headers every Beacon answer carries (`index` is the catalog's revision). */
export function commonHeaders(index: number): Record<string, string> {
  return {
    'X-Consul-Index': String(Math.max(1, index)),
    'X-Consul-KnownLeader': 'true',
    'X-Consul-LastContact': '0',
    'X-Consul-Default-ACL-Policy': 'allow',
  };
}

/** The Beacon error for an error Node's HTTP server reports on a connection (its `clientError` event). */
export function clientErrorToBeacon(err: Error & { code?: string; reason?: string }): BeaconError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new BeaconError('BEACON_ERR_HEADERS_TOO_LARGE', `Request header fields too large: the request line and headers must fit in ${maxHeaderSize} bytes`, {
      cause: err,
    });
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'HPE_HEADERS_TIMEOUT') {
    return new BeaconError('BEACON_ERR_REQUEST_TIMEOUT', 'Request timeout: the request did not arrive in full in time', { cause: err });
  }
  // llhttp's reason is a short fixed text such as "Invalid character in chunk size".
  const reason = typeof err.reason === 'string' && err.reason !== '' ? err.reason : 'malformed HTTP request';
  return new BeaconError('BEACON_ERR_BAD_REQUEST', `Bad request: ${reason}`, { cause: err });
}

/** A whole HTTP/1.1 response for `err`, to write on a socket no response object owns. */
export function rawErrorResponse(err: BeaconError, url: string, index: number): string {
  const { type, body } = errorPayload(err, url);
  const headers: Record<string, string> = {
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Beacon-Error': err.code,
    ...commonHeaders(index),
    Connection: 'close',
  };
  const lines = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n${lines}\r\n${body}`;
}

/** The URL of the request being read when the error came: the in-flight one, or the request line in the bytes received. */
function urlOf(socket: Socket, err: { rawPacket?: unknown }): string {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight?.req?.url) return inFlight.req.url;
  if (Buffer.isBuffer(err.rawPacket)) {
    const m = /^[A-Z]+ (\S+)/.exec(err.rawPacket.subarray(0, 256).toString('latin1'));
    if (m) return m[1];
  }
  return '';
}

/**
 * Fastify's `clientErrorHandler`: answers in Beacon's form, then closes the connection (its
 * request stream cannot be trusted any more). The answer goes out only when no answer has
 * started on the connection; the connection is half-closed and given LINGER_MS to finish, so
 * a client still sending reads the answer instead of a reset.
 */
export function clientErrorHandler(
  index: () => number,
  /** Told the status of each error answered (for `beacon_http_protocol_errors_total`). */
  onAnswer: (status: number) => void = () => undefined,
): (err: Error & { code?: string; rawPacket?: unknown }, socket: Socket) => void {
  // Node's parser reports the same error again for each further chunk on the connection.
  const handled = new WeakSet<Socket>();
  return (err, socket) => {
    if (handled.has(socket)) return;
    handled.add(socket);
    if (err.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const be = clientErrorToBeacon(err);
      onAnswer(be.status);
      socket.end(rawErrorResponse(be, urlOf(socket, err), index()));
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    } else {
      socket.destroy();
    }
  };
}

/** Answers `err` on a response no route owns, and closes the connection after it. */
function answer(req: IncomingMessage, res: ServerResponse, err: BeaconError, index: number): void {
  const { type, body } = errorPayload(err, req.url ?? '');
  res.writeHead(err.status, {
    ...commonHeaders(index),
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'X-Beacon-Error': err.code,
    Connection: 'close',
  });
  res.end(body);
  req.resume();
}

/** The server's `checkExpectation` listener: an `Expect` other than 100-continue answers 417 in Beacon's form. */
export function expectationFailed(index: () => number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    answer(
      req,
      res,
      new BeaconError('BEACON_ERR_EXPECTATION_FAILED', 'Expectation failed: only "Expect: 100-continue" is supported', { field: 'Expect' }),
      index(),
    );
  };
}

/**
 * An HTTP/1.1 request without a Host header is malformed (RFC 9112 §3.2). Node refuses it with
 * a bare 400 of its own unless the server is made with `requireHostHeader: false`; the server's
 * request handler calls this first instead, which answers it in Beacon's form and returns true.
 */
export function refuseWithoutHost(index: () => number): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.headers.host !== undefined || req.httpVersion !== '1.1') return false;
    answer(req, res, new BeaconError('BEACON_ERR_BAD_REQUEST', 'Bad request: missing required Host header', { field: 'Host' }), index());
    return true;
  };
}

/**
 * The server's `connect` listener: Beacon is no proxy, so a CONNECT request answers 405 (Node
 * would close the connection without a word) and the connection is closed.
 */
export function connectRefused(index: () => number): (req: IncomingMessage, socket: Duplex) => void {
  return (req, socket) => {
    const err = new BeaconError('BEACON_ERR_METHOD_NOT_ALLOWED', 'method CONNECT not allowed');
    socket.on('error', () => {});
    socket.end(rawErrorResponse(err, req.url ?? '', index()));
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
