import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { ClientLogger } from '../client/index.js';
import { formatHostPort, type HostPort } from '../config/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import { createAdminServer } from './admin.js';
import type { GatewayConfig } from './config.js';
import { GatewayMetrics } from './metrics.js';
import { HttpProxy } from './proxy.js';
import { RetryBudget } from './retry-budget.js';
import { RouteTable, type RouteSpec } from './route-table.js';
import { loadRoutesFile } from './routes-file.js';
import { Sidecar, type SidecarListener } from './sidecar.js';
import { Upstreams, type FailoverTargets } from './upstreams.js';

export interface GatewayOptions {
  /** Diagnostics (reloads, ejections, Beacon unreachable). Default: pino on stderr at info. */
  readonly log?: Logger;
  /** Where access-log lines go when `accessLog` is on. Default: pino on stdout. */
  readonly accessLog?: Logger;
  /** Datacenter failover (prepared queries); none by default. */
  readonly failover?: FailoverTargets;
  /** `wait` of blocking queries to Beacon, in ms (tests shorten it). Default 60 s. */
  readonly waitMs?: number;
}

/** A running gateway and/or sidecar. */
export interface RunningGateway {
  /** The HTTP proxy's address (gateway mode). */
  readonly listen: HostPort | undefined;
  readonly admin: HostPort | undefined;
  readonly sidecar: readonly SidecarListener[];
  readonly metrics: GatewayMetrics;
  /** The route table now. */
  table(): RouteTable;
  /** Reads the routes file again; on error the previous routes stay and the error is returned. */
  reloadRoutes(): Promise<BeaconError | undefined>;
  /** Graceful stop: stop accepting, let in-flight requests and connections finish within the grace, then close. */
  close(): Promise<void>;
}

function listenOn(server: Server, at: HostPort, what: string): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new BeaconError('BEACON_ERR_STARTUP', `${what}: cannot listen on ${formatHostPort(at)} (${err.code ?? err.message})`)),
    );
    server.listen(at.port, at.host, () => {
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });
}

/**
 * Starts `beacon gateway` (when `config.listen` is set) and/or `beacon sidecar` (when
 * `config.upstreams` are given), with the admin listener if configured. A bad routes file at
 * start throws `BEACON_ERR_GATEWAY_ROUTES`; Beacon being unreachable does not stop the start
 * (requests answer 503 until it answers).
 *
 * @example
 * const gw = await runGateway(buildGatewayConfig({ listen: '127.0.0.1:8080', server: ['http://127.0.0.1:8500'] }, 'gateway'));
 * // ... curl -H 'Host: web.service.consul' http://127.0.0.1:8080/
 * await gw.close();
 */
export async function runGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<RunningGateway> {
  const log = opts.log ?? pino({ level: 'info', base: { svc: 'beacon-gateway' } }, pino.destination({ fd: 2, sync: false }));
  const clientLog: ClientLogger = (level, msg, fields) => log[level](fields ?? {}, msg);
  const accessLog = config.accessLog ? (opts.accessLog ?? pino({ base: undefined }, pino.destination({ fd: 1, sync: false }))) : undefined;
  let fileRoutes: RouteSpec[] = config.routesFile ? await loadRoutesFile(config.routesFile) : [];
  let loadedAt = config.routesFile ? new Date().toISOString() : undefined;
  let lastError: string | undefined;

  const metrics = new GatewayMetrics();
  const upstreams = new Upstreams({
    servers: config.servers,
    token: config.token,
    ...(config.tls ? { tls: config.tls } : {}),
    strategy: config.strategy,
    datacenter: config.datacenter,
    connectTimeoutMs: Math.min(config.tryTimeoutMs, 10_000),
    log: clientLog,
    waitMs: opts.waitMs,
  });
  const budget = new RetryBudget();
  const localCatalog = config.listen ? upstreams.catalog(undefined) : undefined;
  let table = new RouteTable(fileRoutes, new Map());
  const rebuild = () => {
    table = new RouteTable(fileRoutes, localCatalog?.services ?? new Map());
    metrics.routes.set({ source: 'file' }, table.routes.filter((r) => r.source === 'file').length);
    metrics.routes.set({ source: 'tag' }, table.routes.filter((r) => r.source === 'tag').length);
  };
  rebuild();
  localCatalog?.onChange(rebuild);

  const servers: Server[] = [];
  let proxy: HttpProxy | undefined;
  let listen: HostPort | undefined;
  let admin: HostPort | undefined;
  let sidecar: Sidecar | undefined;
  let sidecarListeners: SidecarListener[] = [];
  try {
    if (config.listen) {
      // --failover: the same target in each listed datacenter, in order (prepared queries' Failover.Datacenters).
      const failover =
        opts.failover ??
        (config.failover.length > 0
          ? (t: { service: string; tag: string | undefined; dc: string | undefined }) => config.failover.filter((dc) => dc !== t.dc).map((dc) => ({ ...t, dc }))
          : undefined);
      proxy = new HttpProxy({ config, upstreams, table: () => table, metrics, budget, accessLog, failover });
      const http = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0, headersTimeout: 10_000 }, proxy.handle);
      http.on('upgrade', proxy.upgrade);
      http.on('connection', (s: import('node:net').Socket) => {
        metrics.openConnections.inc({ listener: 'http' });
        s.once('close', () => metrics.openConnections.dec({ listener: 'http' }));
      });
      http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
        if (socket.writable && !socket.destroyed) {
          const body = JSON.stringify({ code: 'BEACON_ERR_BAD_REQUEST', message: `Bad request: ${err.code ?? err.message}` });
          socket.end(
            `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
          );
        } else socket.destroy();
      });
      servers.push(http);
      listen = await listenOn(http, config.listen, '--listen');
    }
    if (config.upstreams.length > 0) {
      sidecar = new Sidecar(config, upstreams, metrics, log);
      sidecarListeners = await sidecar.start();
    }
    if (config.admin) {
      const adminServer = createAdminServer(metrics, {
        table: () => table,
        routesFile: () => ({ path: config.routesFile ?? null, loadedAt: loadedAt ?? null, lastError: lastError ?? null }),
        upstreams: () =>
          [...upstreams.routers.values()].map((r) => {
            const snap = r.snapshotNow();
            return {
              service: r.query.name,
              tags: r.query.tags,
              dc: r.query.dc ?? null,
              strategy: r.balancer.strategy,
              stale: snap?.stale ?? null,
              instances: (snap?.instances ?? []).map((i) => ({ id: i.id, address: i.address, port: i.port, ejected: r.outliers.isEjected(i.id) })),
            };
          }),
      });
      servers.push(adminServer);
      admin = await listenOn(adminServer, config.admin, '--admin');
    }
  } catch (err) {
    for (const s of servers) s.close();
    await sidecar?.close(0);
    await upstreams.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    listen,
    admin,
    sidecar: sidecarListeners,
    metrics,
    table: () => table,
    async reloadRoutes() {
      if (!config.routesFile) return undefined;
      try {
        fileRoutes = await loadRoutesFile(config.routesFile);
        loadedAt = new Date().toISOString();
        lastError = undefined;
        rebuild();
        metrics.routeReloads.inc({ result: 'ok' });
        log.info({ routes: fileRoutes.length, file: config.routesFile }, 'routes file reloaded');
        return undefined;
      } catch (err) {
        const e = isBeaconError(err) ? err : new BeaconError('BEACON_ERR_GATEWAY_ROUTES', `routes file ${config.routesFile}: ${(err as Error).message}`);
        lastError = e.message;
        metrics.routeReloads.inc({ result: 'error' });
        log.warn({ file: config.routesFile, error: e.message }, 'routes file rejected; the previous routes stay');
        return e;
      }
    },
    close() {
      closing ??= (async () => {
        const [http, adminServer] = config.listen ? [servers[0], config.admin ? servers[1] : undefined] : [undefined, servers[0]];
        http?.close();
        http?.closeIdleConnections();
        const grace = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
        await Promise.all([proxy ? Promise.race([proxy.drain(), grace]) : undefined, sidecar?.close(config.shutdownGraceMs)]);
        http?.closeAllConnections();
        adminServer?.close();
        adminServer?.closeAllConnections();
        localCatalog?.close();
        await upstreams.close();
        log.flush?.();
        accessLog?.flush?.();
      })();
      return closing;
    },
  };
}
