/**
 * A TCP proxy on loopback that can be cut: one listener per upstream, every byte piped through
 * as it comes. `cut()` destroys every open connection and resets each new one at once, so the
 * process behind the proxy sees its peer vanish and cannot reach it again until `restore()`.
 *
 * The fault suite uses it to cut one Beacon server off from etcd while the others keep talking
 * to etcd directly: the server is started with its store URL naming the proxy's ports.
 *
 * @example
 * const proxy = await startTcpProxy(['127.0.0.1:2379', '127.0.0.1:22379']);
 * proxy.addresses; // ['127.0.0.1:40001', '127.0.0.1:40002'], in upstream order
 * proxy.cut();
 * proxy.restore();
 * await proxy.close();
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `127.0.0.1:<port>` of each listener, in the order of the upstreams. */
  readonly addresses: readonly string[];
  /** Whether connections are being cut now. */
  readonly isCut: boolean;
  /** Connections accepted so far, and those reset while cut. */
  readonly stats: { accepted: number; refused: number; destroyed: number };
  /** Destroys every open connection; new ones are reset as they arrive. */
  cut(): void;
  /** Lets new connections through again. */
  restore(): void;
  close(): Promise<void>;
}

function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

export async function startTcpProxy(upstreams: readonly string[]): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const servers: Server[] = [];
  const stats = { accepted: 0, refused: 0, destroyed: 0 };
  let isCut = false;

  const onConnection = (client: Socket, upstream: { host: string; port: number }): void => {
    if (isCut) {
      stats.refused++;
      client.resetAndDestroy();
      return;
    }
    stats.accepted++;
    const server = connect(upstream.port, upstream.host);
    open.add(client);
    open.add(server);
    const drop = (s: Socket) => () => {
      open.delete(s);
      client.destroy();
      server.destroy();
    };
    client.on('error', () => undefined);
    server.on('error', () => undefined);
    client.on('close', drop(client));
    server.on('close', drop(server));
    client.pipe(server);
    server.pipe(client);
  };

  for (const u of upstreams) {
    const upstream = hostPort(u);
    const srv = createServer((c) => onConnection(c, upstream));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(srv);
  }
  const addresses = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('the proxy has no TCP address');
    return `127.0.0.1:${a.port}`;
  });

  return {
    addresses,
    get isCut() {
      return isCut;
    },
    stats,
    cut() {
      isCut = true;
      for (const s of open) {
        stats.destroyed++;
        s.resetAndDestroy();
      }
      open.clear();
    },
    restore() {
      isCut = false;
    },
    async close() {
      isCut = true;
      for (const s of open) s.destroy();
      open.clear();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
