/**
 * DNS over UDP: one datagram in, at most one datagram out, answered synchronously unless the
 * question is forwarded to a recursor.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { DnsLogger, Reply } from './query-handler.js';
import { Verdict, type ResponseRateLimiter } from './rate-limit.js';

/** Response rate limiting: the limiter, and the truncated answer sent when it says slip. */
export interface UdpRateLimit {
  limiter: ResponseRateLimiter;
  slip: (msg: Buffer) => Buffer | undefined;
}

export class UdpTransport {
  private socket: dgram.Socket | undefined;
  private closed = false;
  queries = 0;
  sendErrors = 0;

  constructor(
    private readonly handle: (msg: Buffer, tcp: boolean) => Reply,
    private readonly logger: DnsLogger,
    private readonly rateLimit?: UdpRateLimit,
  ) {}

  /** Binds to host:port (0 = any free port); resolves to the bound port. */
  bind(host: string, port: number): Promise<number> {
    const sock = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        sock.close();
        reject(err);
      };
      sock.once('error', onError);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', onError);
        this.socket = sock;
        try {
          sock.setRecvBufferSize(4 << 20);
        } catch {
          // The kernel may cap it (net.core.rmem_max); the default still works.
        }
        sock.on('error', (err) => {
          this.sendErrors++;
          this.logger.debug({ err }, 'dns: udp socket error');
        });
        sock.on('message', (msg, rinfo) => this.onMessage(sock, msg, rinfo));
        resolve(sock.address().port);
      });
    });
  }

  private onMessage(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.queries++;
    // Source port 0 cannot be answered (and dgram would throw on it).
    if (rinfo.port === 0) return;
    if (this.rateLimit?.limiter.enabled) {
      const v = this.rateLimit.limiter.verdict(rinfo.address);
      if (v === Verdict.Drop) return;
      if (v === Verdict.Slip) {
        const m = this.rateLimit.slip(msg);
        if (m) this.send(sock, m, rinfo);
        return;
      }
    }
    const r = this.handle(msg, false);
    if (r === undefined) return;
    if (Buffer.isBuffer(r)) {
      this.send(sock, r, rinfo);
      return;
    }
    void r.then(
      (m) => {
        if (m && !this.closed) this.send(sock, m, rinfo);
      },
      () => undefined,
    );
  }

  private send(sock: dgram.Socket, m: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      sock.send(m, rinfo.port, rinfo.address);
    } catch (err) {
      this.sendErrors++;
      this.logger.debug({ err }, 'dns: udp send failed');
    }
  }

  close(): Promise<void> {
    this.closed = true;
    const s = this.socket;
    this.socket = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }
}
