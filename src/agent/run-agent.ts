import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import client from 'prom-client';
import pino from 'pino';
import { formatHostPort, type HostPort, type Logger } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import { createHealth, SERF_CHECK_ID, type Health, type Sessions } from '../health/index.js';
import type { AgentConfig } from './config.js';
import { loadConfigDir } from './config-dir.js';
import { AgentOwner, applyConfigDefinitions } from './owner.js';
import { AgentState } from './state.js';
import { Upstream } from './upstream.js';
import { WatchCache } from './watch-cache.js';
import { createAgentHttp } from './http.js';
import { registerAgentMetrics } from './metrics.js';
import { AgentDnsCatalog } from './dns-source.js';
import { startDnsServer, type DnsServer } from '../dns/index.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Knobs that are not user configuration (tests shorten them). */
export interface AgentOptions {
  syncIntervalMs: number;
  pushDelayMs: number;
  cacheIdleMs: number;
  sweepIntervalMs: number;
  sessionTtlSeconds: number;
  /** TLS towards https:// servers (read by the CLI from --ca-file, --client-cert, --client-key). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export const DEFAULT_AGENT_OPTIONS: AgentOptions = {
  syncIntervalMs: 60_000,
  pushDelayMs: 20,
  cacheIdleMs: 10 * 60_000,
  sweepIntervalMs: 30_000,
  sessionTtlSeconds: 10,
};

export interface RunningAgent {
  http: HostPort;
  /** null when DNS is off. */
  dns: HostPort | null;
  /** Re-reads the config dir and converges (SIGHUP, PUT /v1/agent/reload). */
  reload(): Promise<void>;
  close(opts?: { leave?: boolean }): Promise<void>;
}

/**
 * The session health's liveness asks for: the agent's node session is held by the servers for
 * as long as the agent's stream is connected (agent-stream.ts on the server), so here it is a
 * formality that never lapses.
 */
const streamSessions = (node: string): Sessions => ({
  open: () => Promise.resolve({ id: 'stream', keepAlive: () => Promise.resolve(true), restore: () => Promise.resolve(true), end: () => Promise.resolve() }),
  watch: () => Promise.resolve({ initial: new Map([[node, 'stream']]), cancel: () => undefined }),
});

/** Starts an agent: loads its state, runs its checks, connects to the servers and serves HTTP. */
export async function runAgent(cfg: AgentConfig, options: Partial<AgentOptions> = {}): Promise<RunningAgent> {
  const config = cfg.base;
  const opts = { ...DEFAULT_AGENT_OPTIONS, sessionTtlSeconds: config.sessionTtlSeconds, ...options };
  const logger = pino({ level: config.logLevel, base: { agent: config.node } }, pino.destination({ fd: 2, sync: false })) as unknown as Logger;
  const registry = new client.Registry();
  const state = new AgentState(config.node, config.dataDir);
  await state.lock();
  const found = await state.load().catch(async (err: unknown) => {
    await state.unlock();
    throw err;
  });
  const policy = { enableScriptChecks: config.checks.enableScriptChecks };
  const filePolicy = { enableScriptChecks: config.checks.enableScriptChecks || config.checks.enableLocalScriptChecks, fromLocalFile: true };

  let cache: WatchCache;
  let owner: AgentOwner;
  const selfKey = `/v1/health/node/${encodeURIComponent(config.node)}`;
  const upstream = new Upstream(
    {
      servers: cfg.servers,
      ...(config.acl.agentToken ? { token: config.acl.agentToken } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      sessionTtlSeconds: opts.sessionTtlSeconds,
      logger,
      node: () => ({
        Node: config.node,
        ID: state.node.ID,
        Address: config.advertiseAddr,
        TaggedAddresses: { lan: config.advertiseAddr, lan_ipv4: config.advertiseAddr, wan: config.advertiseAddr, wan_ipv4: config.advertiseAddr },
        Meta: state.node.Meta,
      }),
    },
    {
      up: () => {
        cache.resubscribe();
        void owner.syncNow();
      },
      down: () => undefined,
      data: (f) => {
        cache.apply(f);
        // Our own node changed in the catalog: make sure it still matches (repairs at once).
        if (cache.byWatchId(f.id)?.key === selfKey && f.status === 200 && !owner.catalogMatches(f.body)) owner.pushSoon(200);
      },
      watchError: (id, code, message) => {
        logger.warn({ id, code, message }, 'agent: the server refused a watch');
        const e = cache.byWatchId(id);
        if (e) cache.drop(e);
      },
    },
  );
  cache = new WatchCache({
    watch: (id, path, index) => upstream.send({ op: 'watch', id, path, index }),
    unwatch: (id) => upstream.send({ op: 'unwatch', id }),
    idleMs: opts.cacheIdleMs,
  });
  owner = new AgentOwner(state, upstream, policy, logger, { syncIntervalMs: opts.syncIntervalMs, pushDelayMs: opts.pushDelayMs });

  let reloading: Promise<void> | undefined;
  const reload = (): Promise<void> => {
    if (!cfg.configDir) return Promise.resolve();
    const dir = cfg.configDir;
    reloading ??= (async () => {
      try {
        const defs = await loadConfigDir(dir, config.node, filePolicy);
        const r = await applyConfigDefinitions(owner, defs);
        logger.info({ configDir: dir, ...r, services: defs.services.length, checks: defs.checks.length }, 'agent: config dir loaded');
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };
  // A config dir that does not load stops the start; on a reload it changes nothing.
  await reload();

  const health: Health = createHealth({
    source: state,
    sink: owner.sink,
    sessions: streamSessions(config.node),
    config,
    logger,
    registry,
    options: { owns: (_node, checkId) => checkId !== SERF_CHECK_ID },
  });
  owner.health = health.api;
  await health.start();
  const shutdown = new AbortController();
  registerAgentMetrics(registry, { cache, upstream, owner });
  upstream.start();
  owner.start();
  // Keep the watch on our own node alive: anti-entropy repairs what the catalog lost as soon as it changes.
  const selfWatch = setInterval(() => cache.entry(selfKey), Math.max(1000, opts.cacheIdleMs / 4));
  selfWatch.unref();
  cache.entry(selfKey);
  const sweep = setInterval(() => cache.sweep(), opts.sweepIntervalMs * (0.9 + Math.random() * 0.2));
  sweep.unref();

  const startedAt = Date.now();
  const server = createAgentHttp({
    owner,
    cache,
    upstream,
    datacenter: config.datacenter,
    advertiseAddr: config.advertiseAddr,
    version: pkg.version,
    startedAt,
    registry,
    maxBodyBytes: config.maxBodyBytes,
    reload,
    signal: shutdown.signal,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => resolve());
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    clearInterval(sweep);
    clearInterval(selfWatch);
    owner.stop();
    await upstream.stop();
    await health.stop();
    throw new BeaconError(
      'BEACON_ERR_STARTUP',
      `cannot listen for HTTP on ${formatHostPort(config.http)}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`,
      {
        cause: err,
      },
    );
  }
  // DNS answered from the same cache, by the server's own answer building.
  let dns: DnsServer | undefined;
  if (config.dns.addr) {
    const dnsCatalog = new AgentDnsCatalog(cache);
    try {
      dns = await startDnsServer({
        catalog: dnsCatalog,
        config: config.dns,
        datacenter: config.datacenter,
        nodeName: config.node,
        logger,
        prepare: (q) => dnsCatalog.prepare(q),
      });
    } catch (err) {
      clearInterval(sweep);
      clearInterval(selfWatch);
      owner.stop();
      server.close();
      await upstream.stop();
      await health.stop();
      throw err;
    }
    const d = dns;
    registry.registerMetric(
      new client.Counter({
        name: 'beacon_agent_dns_queries_total',
        help: 'DNS queries the agent answered (from its cache).',
        registers: [],
        collect() {
          this.reset();
          this.inc(d.stats().queries);
        },
      }),
    );
  }
  const a = server.address() as AddressInfo;
  logger.info(
    { http: `${a.address}:${a.port}`, servers: cfg.servers, node: config.node, restored: found, services: state.services.size },
    'beacon agent started',
  );
  let closing: Promise<void> | undefined;
  return {
    http: { host: a.address, port: a.port },
    dns: dns ? dns.udpAddress : null,
    reload,
    close(o = {}) {
      closing ??= (async () => {
        shutdown.abort();
        clearInterval(sweep);
        clearInterval(selfWatch);
        owner.stop();
        // Blocking queries answer at once with what the cache has; connections still open
        // after 2 s are cut.
        cache.wakeAll();
        await new Promise<void>((r) => {
          const cut = setTimeout(() => server.closeAllConnections(), 2000);
          server.close(() => {
            clearTimeout(cut);
            r();
          });
          server.closeIdleConnections();
        });
        await dns?.close();
        await health.stop();
        await state.save();
        await state.unlock();
        await upstream.stop({ leave: o.leave ?? false });
        await new Promise<void>((r) => (logger as unknown as pino.Logger).flush(() => r()));
      })();
      return closing;
    },
  };
}
