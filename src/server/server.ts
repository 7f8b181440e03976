import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { AclResolver, Authorizer } from '../acl/index.js';
import { AclStore, Catalog, CatalogSessions, HistoryCompactor, PreparedQueries, ServerRegistry } from '../catalog/index.js';
import { createClusterMetrics, Federation, ServerGroup, TtlForwarder, type WanServer } from '../cluster/index.js';
import { formatDuration, formatHostPort, isEtcdUrl, type HostPort, type RuntimeConfig } from '../config/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import {
  createHttpApp,
  createMetrics,
  defaultUiDir,
  loadTlsFiles,
  reloadTls,
  ResponseCache,
  uiRoutes,
  type HttpContext,
  type LocalNode,
} from '../api/http/index.js';
import { startDnsServer, type DnsServer } from '../dns/index.js';
import { Events } from '../events/index.js';
import { createHealth, SERF_CHECK_ID, type Health, type Sessions, type StatusSink } from '../health/index.js';
import { onStoreHealthChange, openStore, storeHealth, storeLastContact, type Store } from '../store/index.js';
import { ClusterNode } from './cluster-node.js';
import { AntiEntropy } from './anti-entropy.js';
import { attachAgentStream } from './agent-stream.js';
import { registerDnsMetrics } from './dns-metrics.js';
import { registerConfigDefinitions, type DefinitionTarget } from './config-definitions.js';
import { HttpDrain, type CutReport } from './http-drain.js';
import { collectStartupGarbage } from './startup-gc.js';
import { createLogger } from './logger.js';
import { ServerNode } from './local-node.js';
import { openLocalState } from './local-state-setup.js';
import { NodeOwner } from './node-owner.js';
import { OwnSession } from './own-session.js';
import { withServerDefaults, type ServerOptions } from './server-options.js';
import { SharedLock } from './shared-lock.js';
import { dnsWan } from './wan-dns.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface RunningServer {
  http: HostPort;
  /** Whether the HTTP API is served over HTTPS. */
  tls: boolean;
  /** Reads the TLS files again for new connections (SIGHUP); throws, keeping the old ones, when they are bad. No-op without TLS. */
  reloadTls(): void;
  dns: HostPort | null;
  /**
   * Shuts down: stops accepting, lets running requests finish for the grace period and then
   * cuts the connections left, stops health and the catalog, flushes and closes the store.
   * Every step runs even when an earlier one failed; rejects afterwards with the first failure.
   */
  close(): Promise<void>;
}

/** Steps undone in reverse order when the start fails, and run in order on close. */
type Step = () => unknown;

/** Runs every step, even after one failed; resolves with the errors. */
async function runAll(steps: readonly Step[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const s of steps) {
    try {
      await s();
    } catch (err) {
      errors.push(err);
    }
  }
  return errors;
}

function bounded(p: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise((r) => (t = setTimeout(r, ms)))]).finally(() => clearTimeout(t));
}

/** serfHealth's output while the store refuses writes. */
export const STORE_DOWN_OUTPUT = 'Beacon cannot write to its store';

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * Opens the store, builds the catalog, takes charge of this server's own node (local state,
 * anti-entropy), and serves HTTP (and DNS) until close().
 */
export interface RunServerExtras {
  /**
   * Run on this store instead of opening the one the config names (tests: several servers of
   * one group in one process). It is not closed on shutdown.
   */
  store?: Store;
  /** Run as a member of a server group (default: when the store is etcd). */
  cluster?: boolean;
}

export async function runServer(config: RuntimeConfig, options: Partial<ServerOptions> & RunServerExtras = {}): Promise<RunningServer> {
  const opts = withServerDefaults(options);
  const logger = createLogger(config.logLevel);
  // Unreadable or mismatched TLS files stop the start before anything is opened.
  const tlsFiles = config.tls ? loadTlsFiles(config.tls) : undefined;
  const clusterMode = options.cluster ?? isEtcdUrl(config.store);
  const store =
    options.store ??
    (await openStore(config.store, {
      dataDir: config.dataDir,
      logger,
      recover: config.recover,
      prefix: config.storePrefix ?? undefined,
      ...(config.storeTls ? { tls: config.storeTls } : {}),
    }));
  const closeStore: Step = options.store ? () => undefined : () => store.close();
  const undo: Step[] = [closeStore];
  const failStart = async (err: unknown): Promise<never> => {
    await runAll([...undo].reverse());
    throw err;
  };

  const catalog = new Catalog(store, {
    datacenter: config.datacenter,
    onWatchError: (err) => logger.warn({ err }, 'catalog watch failed; re-listing'),
  });
  let local: ServerNode;
  let agentNode: LocalNode & DefinitionTarget;
  let group: ServerGroup | undefined;
  let forwarder: TtlForwarder | undefined;
  let health: Health;
  const stopChores: Step[] = [];
  let session: OwnSession;
  let nodeSessions: Sessions;
  let antiEntropy: AntiEntropy;
  let ownerFileClose: Step;
  let events: Events | undefined;
  const metrics = createMetrics({ catalog, store });
  const aclStore = new AclStore(store);
  const clusterMetrics = createClusterMetrics(metrics.registry, () => group);
  try {
    await catalog.start();
    undo.push(() => catalog.stop());
    await aclStore.start();
    undo.push(() => aclStore.stop());
    // Events follow the catalog from here, so this start's own registrations are in the history.
    events = new Events({ catalog, config, logger, registry: metrics.registry });
    events.start();
    const ev = events;
    undo.push(() => ev.stop());
    const { state, file, found } = await openLocalState(catalog, config, logger);
    ownerFileClose = () => file.close();
    undo.push(ownerFileClose);
    const lock = new SharedLock();
    const owner = new NodeOwner(catalog, state, file, lock);
    const ttl = { updateTtl: (...a: Parameters<Health['api']['updateTtl']>) => health.api.updateTtl(...a) };
    local = new ServerNode(catalog, ttl, config.checks, owner);
    agentNode = local;
    if (clusterMode) {
      const g = new ServerGroup({
        registry: new ServerRegistry(store),
        identity: { Node: config.node, Addr: config.advertiseAddr, Datacenter: config.datacenter, Version: pkg.version },
        logger,
      });
      group = g;
      forwarder = new TtlForwarder({
        onResult: (result) => clusterMetrics.forwards.inc({ result }),
        ...(config.acl.agentToken ? { token: config.acl.agentToken } : {}),
        ...(tlsFiles ? { tls: { ca: tlsFiles.ca as Buffer | undefined, cert: tlsFiles.cert as Buffer, key: tlsFiles.key as Buffer } } : {}),
      });
      const fwd = forwarder;
      undo.push(() => fwd.close());
      await g.start();
      undo.push(() => g.stop());
      agentNode = new ClusterNode({
        catalog,
        health: ttl,
        group: g,
        forwarder: fwd,
        datacenter: config.datacenter,
        advertiseAddr: config.advertiseAddr,
        enableScriptChecks: config.checks.enableScriptChecks,
      });
    }
    // In a group, a write for anything but this server's own node carries the membership's
    // fence: a server whose session lapsed (paused, cut off) cannot flip a status it no longer owns.
    const fence = () => {
      const f = group?.fence();
      if (!f) throw new BeaconError('BEACON_ERR_NOT_OWNER', 'this server is not a member of the server group now; its checks are run elsewhere');
      return f;
    };
    const own = (node: string) => !group || node === config.node;
    // The reaper deregisters a service of this node through the local state, or anti-entropy
    // would put it back.
    const sink: StatusSink = {
      setCheckStatus: async (node, id, want) => catalog.commands.setCheckStatus(node, id, want, own(node) ? {} : { fence: fence() }),
      deregisterService: async (node, id) =>
        node === config.node ? local.removeService(id) : catalog.commands.deregisterService(node, id, own(node) ? {} : { fence: fence() }),
      setPending: (node, id, want) => catalog.setPending(node, id, want),
    };
    const sessions = group ? group.sessions(new CatalogSessions(store)) : new CatalogSessions(store);
    nodeSessions = sessions;
    const g = group;
    health = createHealth({
      source: catalog.stored,
      sink,
      sessions,
      config,
      logger,
      registry: metrics.registry,
      options: { sessionTtlSeconds: config.sessionTtlSeconds, ...(g ? { owns: (node: string, checkId: string) => g.owns(node, checkId) } : {}) },
    });
    if (g)
      undo.push(
        g.onChange(() => {
          clusterMetrics.ownershipChanges.inc();
          health.ownershipChanged();
        }),
      );
    if (g) {
      // Cut off from the store for longer than the session TTL, this server must take its
      // membership as lapsed (the others have taken its checks), before it can hear so.
      const ttlMs = config.sessionTtlSeconds * 1000;
      const contact = setInterval(() => {
        const h = storeHealth(store);
        g.storeContact(h.writable || Date.now() - (storeLastContact(store) ?? h.since) <= ttlMs);
      }, 250);
      contact.unref();
      stopChores.push(() => clearInterval(contact));
      undo.push(() => clearInterval(contact));
    }
    if (g && store.driver === 'etcd') {
      // The coordinator's chore: etcd keeps every revision until compacted.
      const compactor = new HistoryCompactor(store, {
        active: () => g.isLeader(),
        onCompacted: (revision) => logger.debug({ revision }, 'compacted store history'),
        onError: (err) => logger.warn({ err }, 'compacting store history failed; trying again later'),
      });
      compactor.start();
      undo.push(() => compactor.stop());
      stopChores.push(() => compactor.stop());
    }
    await health.start();
    undo.push(() => health.stop());
    // While the store refuses writes this server cannot keep anything current: its own
    // serfHealth shows critical in every answer (nothing can be written) until writes resume.
    const stopFollowingStore = onStoreHealthChange(store, (h) => {
      catalog.setPending(
        config.node,
        SERF_CHECK_ID,
        h.writable ? undefined : { status: 'critical', output: `${STORE_DOWN_OUTPUT}: ${h.lastError ?? 'unknown error'}` },
      );
      if (h.writable) logger.info({}, 'store takes writes again');
      else
        logger.error({ err: h.lastError }, 'store refuses writes: answers carry X-Consul-KnownLeader: false and this server shows critical until it recovers');
    });
    undo.push(stopFollowingStore);
    session = new OwnSession(sessions, config.node, logger, () => antiEntropy.trigger());
    antiEntropy = new AntiEntropy({ catalog, state, lock, sessionUp: () => session.up, logger, registry: metrics.registry, options: opts.antiEntropy });
    undo.push(() => antiEntropy.stop());
    await session.start();
    undo.push(() => session.stop());
    await registerConfigDefinitions(agentNode, config);
    await owner.pruneOrphanChecks();
    // The first pass registers this node (the consul service, serfHealth) and repairs what
    // changed while the server was down.
    const written = await antiEntropy.syncNow({ firstRegistration: !found });
    if (!found) logger.info({ writes: written }, "registered this server's node in the catalog");
    antiEntropy.start();
  } catch (err) {
    return failStart(err);
  }
  collectStartupGarbage();

  const shutdown = new AbortController();
  const acl = new AclResolver(aclStore, config.acl.defaultPolicy, config.datacenter);
  const queries = new PreparedQueries(store);
  try {
    await queries.start();
  } catch (err) {
    return failStart(err);
  }
  undo.push(() => queries.stop());
  const ctx: HttpContext = {
    config,
    store,
    catalog,
    logger,
    metrics,
    local: agentNode,
    acl,
    servers: agentNode instanceof ClusterNode ? agentNode.tier() : undefined,
    responseCache: new ResponseCache(),
    startedAt: Date.now(),
    version: pkg.version,
    shutdownSignal: shutdown.signal,
    queries,
    events,
  };
  // Federation: this server's part in the WAN. Its own datacenter's servers are the group's
  // live members (or this server alone); the addresses are known once HTTP and DNS listen.
  let self: WanServer = { Node: config.node, Datacenter: config.datacenter, Addr: config.advertiseAddr, Http: '', Dns: '', Version: pkg.version };
  const wanGroup = group;
  const federation = new Federation({
    datacenter: config.datacenter,
    node: config.node,
    localServers: () =>
      wanGroup && wanGroup.members().length > 0
        ? wanGroup
            .members()
            .map((m) => ({ Node: m.info.Node, Datacenter: config.datacenter, Addr: m.info.Addr, Http: m.info.Http, Dns: m.info.Dns, Version: m.info.Version }))
        : [self],
    join: config.wan.join,
    intervalMs: config.wan.intervalMs,
    logger,
    registry: metrics.registry,
    ...(config.acl.agentToken ? { token: config.acl.agentToken } : {}),
    ...(tlsFiles ? { tls: { ca: tlsFiles.ca as Buffer | undefined, cert: tlsFiles.cert as Buffer, key: tlsFiles.key as Buffer } } : {}),
  });
  ctx.federation = federation;
  undo.push(() => federation.stop());
  // Forwarded requests (blocking queries to another datacenter) end with the shutdown signal too.
  shutdown.signal.addEventListener('abort', () => void federation.stop(), { once: true });
  const app = createHttpApp(ctx, [uiRoutes(defaultUiDir())]);
  const drain = new HttpDrain(app.server);
  undo.push(() => app.close());
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
    return failStart(new BeaconError('BEACON_ERR_STARTUP', `cannot listen for HTTP on ${formatHostPort(config.http)}: ${why}`, { cause: err }));
  }
  // Agents' stream: their node sessions, syncs and multiplexed watches (agent-stream.ts).
  const agents = attachAgentStream({
    app,
    catalog,
    sessions: nodeSessions!,
    serverNode: config.node,
    datacenter: config.datacenter,
    logger,
    registry: metrics.registry,
    signal: shutdown.signal,
    acl,
  });
  undo.push(() => agents.close());
  const addr = app.server.address() as AddressInfo;
  const http = { host: addr.address, port: addr.port };
  let dns: DnsServer | undefined;
  if (config.dns.addr) {
    try {
      dns = await startDnsServer({
        catalog,
        config: config.dns,
        datacenter: config.datacenter,
        nodeName: config.node,
        logger,
        readable: dnsView(acl, config.acl.dnsToken, logger),
        wan: dnsWan(federation, catalog, queries, config.datacenter),
      });
    } catch (err) {
      if (isBeaconError(err)) return failStart(err);
      return failStart(
        new BeaconError('BEACON_ERR_STARTUP', `cannot serve DNS on ${formatHostPort(config.dns.addr)}: ${(err as Error).message}`, { cause: err }),
      );
    }
    registerDnsMetrics(ctx.metrics.registry, dns);
  }
  const advertised = (port: number) => formatHostPort({ host: config.advertiseAddr, port });
  self = { ...self, Http: advertised(http.port), Dns: dns ? advertised(dns.udpAddress.port) : '' };
  federation.start();
  if (group) {
    try {
      await group.publish({ http: advertised(http.port), dns: dns ? advertised(dns.udpAddress.port) : '' });
    } catch (err) {
      // The session is open but joining failed (store away): the next session restore joins.
      logger.warn({ err }, 'joining the server group failed; this server runs no shared checks until it joins');
    }
  }
  logger.info(
    {
      http: formatHostPort(http),
      dns: dns ? formatHostPort(dns.udpAddress) : 'off',
      dataDir: config.dataDir,
      datacenter: config.datacenter,
      node: config.node,
      store: store.driver,
      ...(group ? { serverGroup: group.members().map((m) => m.info.Node) } : {}),
    },
    'beacon server started',
  );

  let closing: Promise<void> | undefined;
  return {
    http,
    tls: config.tls !== null,
    reloadTls() {
      if (!config.tls) return;
      reloadTls(app.server as HttpsServer, config.tls);
      logger.info({ cert: config.tls.certFile }, 'TLS certificate files read again');
    },
    dns: dns ? dns.udpAddress : null,
    close() {
      closing ??= (async () => {
        // Blocking queries answer at once; new requests get BEACON_ERR_SHUTTING_DOWN.
        shutdown.abort();
        let cut: CutReport = { connections: 0, requests: 0 };
        const errors = await runAll([
          () => agents.close(),
          async () => (cut = await drain.close(app.close(), opts.shutdownGraceMs)),
          () => bounded(dns?.close(), 5000),
          () => federation.stop(),
          () => antiEntropy.stop(),
          () => session.stop(),
          () => group?.stop(),
          ...stopChores,
          () => health.stop(),
          () => forwarder?.close(),
          () => queries.stop(),
          () => events?.stop(),
          () => catalog.stop(),
          ownerFileClose,
          closeStore,
        ]);
        for (const err of errors) logger.error({ err }, 'a shutdown step failed');
        if (cut.connections > 0 || cut.requests > 0) {
          logger.warn(
            { cutConnections: cut.connections, cutRequests: cut.requests, graceMs: opts.shutdownGraceMs },
            `beacon server stopped; the ${formatDuration(opts.shutdownGraceMs)} shutdown grace period ran out and cut ${plural(cut.connections, 'connection')} with ${plural(cut.requests, 'request')} in flight`,
          );
        } else {
          logger.info({ graceMs: opts.shutdownGraceMs }, 'beacon server stopped');
        }
        await bounded(new Promise<void>((r) => logger.flush(() => r())), 2000);
        if (errors.length > 0) throw errors[0];
      })();
      return closing;
    },
  };
}

/**
 * What DNS answers may show: the view of `--acl-dns-token` (the anonymous token's without one).
 * A DNS token that does not exist shows nothing, and says so in the log once per change.
 */
function dnsView(acl: AclResolver, token: string | null, logger: ReturnType<typeof createLogger>) {
  const nothing = new Authorizer('unknown-dns-token', [], false);
  let warned = false;
  const view = (): Authorizer | undefined => {
    if (!acl.active) return undefined;
    try {
      return acl.resolve(token ?? undefined);
    } catch {
      if (!warned) logger.warn({}, 'the --acl-dns-token does not exist: DNS answers show no service or node');
      warned = true;
      return nothing;
    }
  };
  return {
    service: (name: string) => view()?.serviceRead(name) ?? true,
    node: (name: string) => view()?.nodeRead(name) ?? true,
    onChange: (fn: () => void) =>
      acl.onChange(() => {
        warned = false;
        fn();
      }),
  };
}

export { isBeaconError };
