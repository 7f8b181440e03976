/**
 * DNS over TCP (RFC 1035 4.2.2, RFC 7766): 2-byte length-prefixed messages, several queries
 * per connection (answers to forwarded queries may come back out of order, by ID).
 * Bounded: concurrent connections (in all and per client address), message size, idle time, queries in flight per connection
 * and bytes queued for a client that does not read.
 */
import net from 'node:net';
import type { Reply } from './query-handler.js';
import { HEADER_LEN, MAX_QUERY_BYTES } from './wire.js';

export interface TcpLimits {
  /** Connections beyond this are closed at once. */
  maxConnections: number;
  /** Connections one client address may hold; more from it are closed at once (0: no limit). */
  maxConnectionsPerClient: number;
  /**
   * A connection with no traffic for this long (and no forwarded query in flight) is closed;
   * so is one whose next message has not arrived whole this long after its first byte.
   */
  idleTimeoutMs: number;
  /** Asynchronous (forwarded) queries in flight per connection before reading pauses. */
  maxInFlight: number;
  /** A client that lets more than this many answer bytes queue up is disconnected. */
  maxQueuedBytes: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxConnections: 256,
  maxConnectionsPerClient: 16,
  idleTimeoutMs: 10_000,
  maxInFlight: 16,
  maxQueuedBytes: 1 << 20,
};

export class TcpTransport {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly perClient = new Map<string, number>();
  queries = 0;
  /** Connections closed at once because all connections were taken. */
  rejected = 0;
  /** Connections closed at once because their client already held its share. */
  rejectedPerClient = 0;
  accepted = 0;

  constructor(
    private readonly handle: (msg: Buffer, tcp: boolean) => Reply,
    private readonly limits: TcpLimits,
  ) {
    this.server = net.createServer({ allowHalfOpen: true }, (sock) => this.onConnection(sock));
    this.server.on('error', () => {
      /* listen errors surface through listen(); later ones are per-socket */
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  private onConnection(sock: net.Socket): void {
    if (this.sockets.size >= this.limits.maxConnections) {
      this.rejected++;
      sock.destroy();
      return;
    }
    const client = sock.remoteAddress ?? '';
    const held = this.perClient.get(client) ?? 0;
    if (this.limits.maxConnectionsPerClient > 0 && held >= this.limits.maxConnectionsPerClient) {
      this.rejectedPerClient++;
      sock.destroy();
      return;
    }
    this.perClient.set(client, held + 1);
    this.accepted++;
    this.sockets.add(sock);
    sock.setNoDelay(true);
    let pending: Buffer | undefined;
    let inFlight = 0;
    let clientEnded = false;
    // A message must arrive whole within idleTimeoutMs of its first byte: a client that
    // trickles a byte at a time (or announces a length and never sends it) is cut off even
    // though each byte would reset the idle timer.
    let partialTimer: NodeJS.Timeout | undefined;
    const partialExpired = () => {
      partialTimer = undefined;
      // Reading is paused while forwarded queries are in flight: not the client's fault.
      if (sock.isPaused() && inFlight > 0) partialTimer = setTimeout(partialExpired, this.limits.idleTimeoutMs);
      else sock.destroy();
    };
    // Idle: nothing received or sent for idleTimeoutMs while no answer is still being worked on
    // (forwarded queries are bounded by the recursor timeouts).
    sock.setTimeout(this.limits.idleTimeoutMs, () => {
      if (inFlight === 0) sock.destroy();
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.sockets.delete(sock);
      const n = (this.perClient.get(client) ?? 1) - 1;
      if (n > 0) this.perClient.set(client, n);
      else this.perClient.delete(client);
      clearTimeout(partialTimer);
    });
    // allowHalfOpen: a client may send its queries and shut down its side; it still gets the
    // answers, then the connection is closed.
    const maybeEnd = () => {
      if (clientEnded && inFlight === 0 && !sock.destroyed) sock.end();
    };
    sock.on('end', () => {
      clientEnded = true;
      maybeEnd();
    });
    const write = (m: Buffer | undefined) => {
      if (!m || sock.destroyed || sock.writableEnded) return;
      const frame = Buffer.allocUnsafe(m.length + 2);
      frame.writeUInt16BE(m.length, 0);
      m.copy(frame, 2);
      sock.write(frame);
      if (sock.writableLength > this.limits.maxQueuedBytes) sock.destroy();
    };
    sock.on('data', (chunk: Buffer) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len < HEADER_LEN || len > MAX_QUERY_BYTES) {
          // Not a DNS query (or over the bound): the framing cannot be trusted any more.
          sock.destroy();
          return;
        }
        if (buf.length < len + 2) break;
        const msg = buf.subarray(2, len + 2);
        buf = buf.subarray(len + 2);
        this.queries++;
        const r = this.handle(msg, true);
        if (r instanceof Promise) {
          if (++inFlight >= this.limits.maxInFlight) sock.pause();
          void r
            .then(write, () => undefined)
            .finally(() => {
              if (--inFlight < this.limits.maxInFlight && !sock.destroyed) sock.resume();
              maybeEnd();
            });
        } else {
          write(r);
        }
      }
      pending = buf.length > 0 ? buf : undefined;
      if (pending && !partialTimer) partialTimer = setTimeout(partialExpired, this.limits.idleTimeoutMs);
      else if (!pending && partialTimer) {
        clearTimeout(partialTimer);
        partialTimer = undefined;
      }
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
