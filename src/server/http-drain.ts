import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What a bounded close had to cut: connections still open when the grace period ran out, and the requests on them. */
export interface CutReport {
  connections: number;
  requests: number;
}

/**
 * Follows an HTTP server's connections and the requests in flight on them, so a shutdown can
 * wait for running requests for a bounded time and then cut what is left (a client that sent
 * 7 of 100 announced body bytes and stopped would otherwise hold the process forever).
 * Requests count from their headers to the end of their response.
 */
export class HttpDrain {
  private readonly sockets = new Set<Socket>();
  private readonly inFlight = new Set<ServerResponse>();

  constructor(server: Server) {
    server.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
    server.on('request', (_req: unknown, res: ServerResponse) => {
      this.inFlight.add(res);
      res.once('close', () => this.inFlight.delete(res));
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  get requests(): number {
    return this.inFlight.size;
  }

  /**
   * Waits for `closed` (the server's own close: no new connections, idle ones closed, running
   * requests finishing) at most `graceMs`; then destroys every connection left and waits for
   * `closed` a little longer. Resolves with what was cut (zeros when everything finished).
   */
  async close(closed: Promise<unknown>, graceMs: number): Promise<CutReport> {
    let timer: NodeJS.Timeout | undefined;
    const done = closed.then(
      () => true,
      () => true,
    );
    const inTime = await Promise.race([done, new Promise<false>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
    clearTimeout(timer);
    if (inTime) return { connections: 0, requests: 0 };
    const cut = { connections: this.sockets.size, requests: this.inFlight.size };
    for (const s of this.sockets) s.destroy();
    // Destroyed sockets close at once; the server's close follows. Do not wait on it forever.
    await Promise.race([done, new Promise((r) => setTimeout(r, 1000).unref())]);
    return cut;
  }
}
