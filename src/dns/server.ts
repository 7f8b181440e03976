/**
 * startDnsServer: binds UDP and TCP on the same port, wires the answer cache to catalog
 * changes, and reports counters for metrics.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HostPort } from '../config/index.js';
import type { DnsConfig } from '../config/index.js';
import { silentLogger } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import type { AnswerContext, DnsCatalog, DnsReadable } from './answer-common.js';
import { AnswerCache } from './cache.js';
import { NameIndex } from './name-index.js';
import { domainLabels, type NameQuery } from './names.js';
import { QueryHandler, type DnsLogger, type DnsWan, type Reply } from './query-handler.js';
import { ResponseRateLimiter, slipAnswer } from './rate-limit.js';
import { Forwarder } from './recursor.js';
import { DEFAULT_TCP_LIMITS, TcpTransport, type TcpLimits } from './tcp-transport.js';
import { serviceTtlLookup } from './ttl.js';
import { UdpTransport } from './udp-transport.js';
import { RCODE_NAMES, type RcodeName } from './wire.js';

export interface DnsServerOptions {
  catalog: DnsCatalog;
  /** Awaited before an answer not in the answer cache is built (see QueryHandler). */
  prepare?: (q: NameQuery) => Promise<void> | undefined;
  /** DNS config; `addr` must not be null (DNS off means: do not start the server). */
  config: DnsConfig;
  /** The local datacenter (the only one `.<dc>.` names answer for). */
  datacenter: string;
  /** This server's node name (NS record). */
  nodeName: string;
  logger?: DnsLogger;
  /** Bounds; the defaults suit production, tests lower them. */
  limits?: Partial<DnsLimits>;
  /**
   * What answers may show (the DNS token's ACL view), and a way to hear when that changes (the
   * cached answers are then dropped). Undefined: everything.
   */
  readable?: DnsReadable & { onChange(fn: () => void): () => void };
  /** Federation: names in other datacenters and prepared queries (off without it). */
  wan?: DnsWan;
}

export interface DnsLimits extends TcpLimits {
  /** Answers kept in the cache (oldest dropped first); floor 16. */
  cacheEntries: number;
  /** Forwarded queries in flight at once; more are answered SERVFAIL. */
  maxForwards: number;
}

export interface DnsStats {
  /** Every DNS message received (UDP + TCP), answered or not. */
  queries: number;
  udpQueries: number;
  tcpQueries: number;
  /** Packets not answered (too short, a response, over the size bound). */
  dropped: number;
  /** Answers sent with the TC bit. */
  truncated: number;
  /** Responses by rcode (BADVERS is EDNS's extended rcode 16). */
  responses: Record<RcodeName | 'BADVERS' | 'OTHER', number>;
  cacheHits: number;
  cacheMisses: number;
  cacheEntries: number;
  cacheInvalidations: number;
  cacheEvictions: number;
  forwarded: number;
  forwardFailures: number;
  /** Truncated UDP answers from a recursor that were asked again over TCP. */
  forwardTcpRetries: number;
  /** Recursor answers with an error rcode (not NOERROR/NXDOMAIN), after which the next was asked. */
  forwardErrorReplies: number;
  forwardsInFlight: number;
  tcpConnections: number;
  tcpAccepted: number;
  /** TCP connections closed at once: all taken. */
  tcpRejected: number;
  /** TCP connections closed at once: their client already held its share. */
  tcpRejectedPerClient: number;
  /** UDP answers dropped by response rate limiting. */
  rateLimitDropped: number;
  /** UDP answers sent truncated by response rate limiting (slip). */
  rateLimitSlipped: number;
  /** Client prefixes response rate limiting tracks now. */
  rateLimitPrefixes: number;
}

export interface DnsServer {
  udpAddress: { host: string; port: number };
  tcpAddress: { host: string; port: number };
  close(): Promise<void>;
  stats(): DnsStats;
}

const BIND_ATTEMPTS = 5;

async function resolveHost(host: string, what: string): Promise<string> {
  if (isIP(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new BeaconError('BEACON_ERR_STARTUP', `cannot resolve the ${what} host "${host}": ${(err as Error).message}`, { cause: err });
  }
}
const noopLogger: DnsLogger = silentLogger;

/**
 * Starts Beacon's DNS interface on `config.addr` (UDP and TCP on the same port; port 0 picks a
 * free one). Fails with BEACON_ERR_STARTUP when the address cannot be bound.
 *
 * @example
 * const dns = await startDnsServer({ catalog, config: cfg.dns, datacenter: 'dc1', nodeName: 'srv1' });
 * console.log(`dns on ${dns.udpAddress.host}:${dns.udpAddress.port}`);
 * await dns.close();
 */
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const { catalog, config } = opts;
  if (!config.addr) throw new BeaconError('BEACON_ERR_CONFIG', 'DNS is off (dnsAddr "off"): do not start the DNS server', { field: 'dnsAddr' });
  const limits: DnsLimits = { ...DEFAULT_TCP_LIMITS, cacheEntries: 32_768, maxForwards: 1024, ...opts.limits };
  const logger = opts.logger ?? noopLogger;
  // Host names are resolved once, so that UDP and TCP bind the same address and recursor
  // answers can be matched against the address they come from.
  const host = await resolveHost(config.addr.host, 'DNS address');
  const recursors: HostPort[] = [];
  for (const r of config.recursors) recursors.push({ host: await resolveHost(r.host, 'recursor'), port: r.port });
  const ctx: AnswerContext = {
    catalog,
    config,
    datacenter: opts.datacenter,
    nodeName: opts.nodeName,
    serviceTtl: serviceTtlLookup(config.serviceTtl),
    names: new NameIndex(catalog),
    now: () => Math.floor(Date.now() / 1000),
    fallbackGlue: isIP(host) && host !== '0.0.0.0' && host !== '::' ? host : undefined,
    ...(opts.readable ? { readable: opts.readable } : {}),
  };
  const cache = new AnswerCache(limits.cacheEntries, catalog.revision);
  const forwarder =
    recursors.length > 0
      ? new Forwarder(recursors, config.recursorTimeoutMs, limits.maxForwards, (err) => logger.debug({ err }, 'dns: recursor socket error'))
      : undefined;
  const domains = [config.domain, ...(config.altDomain ? [config.altDomain] : [])].map(domainLabels);
  // Other datacenters' servers are asked like recursors, within the recursor timeout each.
  const wanForwarder = opts.wan
    ? new Forwarder([], config.recursorTimeoutMs, limits.maxForwards, (err) => logger.debug({ err }, 'dns: WAN socket error'))
    : undefined;
  const handler = new QueryHandler(
    ctx,
    cache,
    forwarder,
    domains,
    logger,
    opts.wan && wanForwarder ? { hooks: opts.wan, forwarder: wanForwarder } : undefined,
    opts.prepare,
  );
  const safeHandle = (msg: Buffer, tcp: boolean): Reply => {
    try {
      return handler.handle(msg, tcp);
    } catch (err) {
      logger.warn({ err }, 'dns: unexpected error answering a query');
      return undefined;
    }
  };
  const rrl = new ResponseRateLimiter(config.rateLimit);
  const stopFollowingAcl = opts.readable?.onChange(() => cache.clear());
  const ra = config.recursors.length > 0;
  const unsubscribe = catalog.onChange((topics, revision) => {
    cache.invalidate(topics, revision);
    ctx.names.invalidate(topics);
  });

  let udp: UdpTransport | undefined;
  let tcp: TcpTransport | undefined;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      udp = new UdpTransport(safeHandle, logger, { limiter: rrl, slip: (msg) => slipAnswer(msg, ra) });
      port = await udp.bind(host, config.addr.port);
      tcp = new TcpTransport(safeHandle, limits);
      try {
        await tcp.listen(host, port);
        break;
      } catch (err) {
        await udp.close();
        await tcp.close().catch(() => undefined);
        udp = tcp = undefined;
        if (config.addr.port !== 0 || attempt >= BIND_ATTEMPTS || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
  } catch (err) {
    unsubscribe();
    stopFollowingAcl?.();
    forwarder?.close();
    wanForwarder?.close();
    throw new BeaconError('BEACON_ERR_STARTUP', `DNS cannot listen on ${host}:${config.addr.port}: ${(err as Error).message}`, { cause: err });
  }
  const udpT = udp;
  const tcpT = tcp;

  return {
    udpAddress: { host, port },
    tcpAddress: { host, port },
    async close() {
      unsubscribe();
      stopFollowingAcl?.();
      forwarder?.close();
      wanForwarder?.close();
      await Promise.all([udpT.close(), tcpT.close()]);
    },
    stats(): DnsStats {
      const responses = {} as DnsStats['responses'];
      let other = 0;
      handler.rcodes.forEach((n, code) => {
        const name = code === 16 ? 'BADVERS' : RCODE_NAMES[code];
        if (name) responses[name] = n;
        else other += n;
      });
      responses.OTHER = other;
      const c = cache.stats();
      return {
        queries: handler.queries,
        udpQueries: udpT.queries,
        tcpQueries: tcpT.queries,
        dropped: handler.dropped,
        truncated: handler.truncated,
        responses,
        cacheHits: c.hits,
        cacheMisses: c.misses,
        cacheEntries: c.entries,
        cacheInvalidations: c.invalidations,
        cacheEvictions: c.evictions,
        forwarded: forwarder?.forwarded ?? 0,
        forwardFailures: forwarder?.failures ?? 0,
        forwardTcpRetries: forwarder?.tcpRetries ?? 0,
        forwardErrorReplies: forwarder?.errorReplies ?? 0,
        forwardsInFlight: forwarder?.inFlight ?? 0,
        tcpConnections: tcpT.connections,
        tcpAccepted: tcpT.accepted,
        tcpRejected: tcpT.rejected,
        tcpRejectedPerClient: tcpT.rejectedPerClient,
        rateLimitDropped: rrl.dropped,
        rateLimitSlipped: rrl.slipped,
        rateLimitPrefixes: rrl.tracked,
      };
    },
  };
}
