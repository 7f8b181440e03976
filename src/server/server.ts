import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Catalog, CatalogSessions } from '../catalog/index.js';
import { formatHostPort, type HostPort, type RuntimeConfig } from '../config/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import { createHttpApp, createMetrics, ResponseCache, type HttpContext } from '../api/http/index.js';
import { startDnsServer, type DnsServer } from '../dns/index.js';
import { createHealth } from '../health/index.js';
import { openStore } from '../store/index.js';
import { registerDnsMetrics } from './dns-metrics.js';
import { registerConfigDefinitions } from './config-definitions.js';
import { collectStartupGarbage } from './startup-gc.js';
import { createLogger } from './logger.js';
import { ServerNode } from './local-node.js';
import { registerSelf } from './self-registration.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface RunningServer {
  http: HostPort;
  dns: HostPort | null;
  close(): Promise<void>;
}

/** Opens the store, builds the catalog, and serves HTTP (and DNS) until close(). */
export async function runServer(config: RuntimeConfig): Promise<RunningServer> {
  const logger = createLogger(config.logLevel);
  const store = await openStore(config.store, { dataDir: config.dataDir, logger });
  const catalog = new Catalog(store, {
    datacenter: config.datacenter,
    onWatchError: (err) => logger.warn({ err }, 'catalog watch failed; re-listing'),
  });
  await catalog.start();
  let selfNode = await registerSelf(catalog, config);
  collectStartupGarbage();

  const metrics = createMetrics({ catalog, store });
  const health = createHealth({ source: catalog, sink: catalog.commands, sessions: new CatalogSessions(store), config, logger, registry: metrics.registry });
  await health.start();

  const shutdown = new AbortController();
  const local = new ServerNode(catalog, health.api, () => (selfNode = catalog.nodeRecord(config.node)?.record ?? selfNode), config.checks);
  const ctx: HttpContext = {
    config, store, catalog, logger, metrics, local, responseCache: new ResponseCache(),
    startedAt: Date.now(), version: pkg.version, shutdownSignal: shutdown.signal,
  };
  const app = createHttpApp(ctx);
  try {
    await registerConfigDefinitions(local, config);
  } catch (err) {
    await app.close();
    await health.stop();
    catalog.stop();
    await store.close();
    throw err;
  }
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await health.stop();
    catalog.stop();
    await store.close();
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new BeaconError('BEACON_ERR_STARTUP', `cannot listen for HTTP on ${formatHostPort(config.http)}: ${why}`, { cause: err });
  }
  const addr = app.server.address() as AddressInfo;
  const http = { host: addr.address, port: addr.port };
  let dns: DnsServer | undefined;
  if (config.dns.addr) {
    try {
      dns = await startDnsServer({ catalog, config: config.dns, datacenter: config.datacenter, nodeName: config.node, logger });
    } catch (err) {
      await app.close();
      await health.stop();
      catalog.stop();
      await store.close();
      if (isBeaconError(err)) throw err;
      throw new BeaconError('BEACON_ERR_STARTUP', `cannot serve DNS on ${formatHostPort(config.dns.addr)}: ${(err as Error).message}`, { cause: err });
    }
    registerDnsMetrics(ctx.metrics.registry, dns);
  }
  logger.info({ http: formatHostPort(http), dns: dns ? formatHostPort(dns.udpAddress) : 'off', dataDir: config.dataDir, datacenter: config.datacenter, node: config.node }, 'beacon server started');

  let closing: Promise<void> | undefined;
  return {
    http,
    dns: dns ? dns.udpAddress : null,
    close() {
      closing ??= (async () => {
        shutdown.abort();
        await Promise.all([app.close(), dns?.close()]);
        await health.stop();
        catalog.stop();
        await store.close();
        logger.info({}, 'beacon server stopped');
        logger.flush();
      })();
      return closing;
    },
  };
}

export { isBeaconError };
