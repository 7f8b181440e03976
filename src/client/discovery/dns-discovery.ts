import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { backoffDelay, jitter, sleep, type BackoffOptions } from '../backoff.js';
import { errorText, type ClientLogger } from '../logger.js';
import { FeedDiscovery } from './feed-discovery.js';
import type { ServiceFeed } from './feed.js';
import { uniqueSorted } from './health-entries.js';
import type { ServiceInstance } from './types.js';

/** The part of node:dns's Resolver DNS mode uses (tests pass a fake). */
export interface SrvResolver {
  resolveSrv(name: string): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/** Settings of DNS mode. */
export interface DnsDiscoveryOptions {
  /** DNS servers as "host:port" (e.g. Beacon's "127.0.0.1:8600"); default the system's. */
  readonly servers?: readonly string[];
  /** Domain Beacon/Consul serves; default "consul". */
  readonly domain?: string;
  /** How often to re-resolve, in ms (jittered ±10 %); default 5 000. */
  readonly refreshMs?: number;
  /** Timeout of one DNS query, in ms; default 2 000. */
  readonly timeoutMs?: number;
  /** A resolver to use instead of node:dns (anything with resolveSrv/resolve4/resolve6). */
  readonly resolver?: SrvResolver;
}

/** DNS answers that say "no such service / no healthy instance" rather than "the DNS is down". */
const AUTHORITATIVE_EMPTY = new Set(['ENOTFOUND', 'ENODATA']);

/** Decodes Consul's `<hex-ip>.addr.<dc>.<domain>` SRV target names; undefined for others. */
export function decodeAddrTarget(target: string): string | undefined {
  const label = target.split('.')[0] ?? '';
  if (target.split('.')[1] !== 'addr') return undefined;
  if (/^[0-9a-f]{8}$/i.test(label)) return [0, 2, 4, 6].map((i) => parseInt(label.slice(i, i + 2), 16)).join('.');
  if (/^[0-9a-f]{32}$/i.test(label)) return label.match(/.{4}/g)!.join(':');
  return undefined;
}

/** The SRV name Consul's DNS answers for a query: `[tag.]name.service[.dc].domain`. */
export function srvName(name: string, tags: readonly string[], dc: string | undefined, domain: string): string {
  return `${tags[0] ? `${tags[0]}.` : ''}${name}.service${dc ? `.${dc}` : ''}.${domain}`;
}

/**
 * Discovery through DNS SRV records, from Beacon's DNS interface or any resolver serving
 * Consul-style names. DNS has no blocking queries: the set is re-resolved every `refreshMs`.
 * Servers only answer with healthy instances, so `passing` has no effect, and only the first
 * tag is used. NXDOMAIN means "no instances"; timeouts and server failures keep the last set
 * (stale) and retry with back-off.
 */
export class DnsDiscovery extends FeedDiscovery {
  readonly mode = 'dns' as const;
  readonly #resolver: SrvResolver;
  readonly #domain: string;
  readonly #refreshMs: number;
  readonly #retry: BackoffOptions;
  readonly #random: () => number;

  constructor(opts: DnsDiscoveryOptions, retry: BackoffOptions, log: ClientLogger, random: () => number = Math.random) {
    super(log);
    if (opts.resolver) this.#resolver = opts.resolver;
    else {
      const r = new Resolver({ timeout: opts.timeoutMs ?? 2_000, tries: 2 });
      if (opts.servers?.length) r.setServers([...opts.servers]);
      this.#resolver = r;
    }
    this.#domain = (opts.domain ?? 'consul').replace(/^\.+|\.+$/g, '');
    this.#refreshMs = Math.max(100, opts.refreshMs ?? 5_000);
    this.#retry = retry;
    this.#random = random;
  }

  async #address(target: string): Promise<string | undefined> {
    const decoded = decodeAddrTarget(target);
    if (decoded) return decoded;
    if (isIP(target)) return target;
    const v4 = await this.#resolver.resolve4(target).catch(() => [] as string[]);
    if (v4[0]) return v4[0];
    const v6 = await this.#resolver.resolve6(target).catch(() => [] as string[]);
    return v6[0];
  }

  async #resolve(feed: ServiceFeed): Promise<ServiceInstance[]> {
    const q = feed.query;
    let records: Awaited<ReturnType<SrvResolver['resolveSrv']>>;
    try {
      records = await this.#resolver.resolveSrv(srvName(q.name, q.tags, q.dc, this.#domain));
    } catch (err) {
      if (AUTHORITATIVE_EMPTY.has((err as { code?: string }).code ?? '')) return [];
      throw err;
    }
    const out: ServiceInstance[] = [];
    for (const r of records) {
      const address = await this.#address(r.name);
      if (!address) continue;
      out.push({
        id: `${address}:${r.port}`,
        service: q.name,
        address,
        port: r.port,
        tags: [...q.tags],
        meta: {},
        node: /^([^.]+)\.node\./.exec(r.name)?.[1] ?? '',
        datacenter: q.dc,
        status: 'passing',
        weights: { passing: r.weight, warning: r.weight },
        weight: r.weight,
      });
    }
    return uniqueSorted(out);
  }

  protected async run(feed: ServiceFeed): Promise<void> {
    const { signal } = feed.controller;
    let failures = 0;
    while (!signal.aborted) {
      let delay: number;
      try {
        const instances = await this.#resolve(feed);
        if (signal.aborted) return;
        feed.update(instances);
        failures = 0;
        delay = jitter(this.#refreshMs, 0.1, this.#random);
      } catch (err) {
        if (signal.aborted) return;
        feed.fail(err instanceof Error ? err : new Error(String(err)));
        delay = Math.min(backoffDelay(failures, this.#retry, this.#random), this.#refreshMs * 4);
        failures += 1;
        this.log('debug', 'DNS discovery failed, retrying', { service: feed.query.name, inMs: Math.round(delay), error: errorText(err) });
      }
      await sleep(delay, signal);
    }
  }
}
