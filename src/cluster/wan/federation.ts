import { Agent, request } from 'undici';
import client, { type Registry } from 'prom-client';
import type { Logger } from '../../config/index.js';
import { WanMemberTable, type DatacenterView, type WanServer } from './member-table.js';
import { parseExchange, WAN_EXCHANGE_ROUTE, type ExchangeMessage } from './exchange.js';
import { WanForwarder, type ForwardResult } from './forward.js';

export interface FederationOptions {
  datacenter: string;
  /** This server's node name. */
  node: string;
  /** This datacenter's live servers now (this one included): the group's members, or this server alone. */
  localServers: () => readonly WanServer[];
  /** HTTP addresses (host:port) of servers in other datacenters to join through. */
  join: readonly string[];
  /** Exchange period per datacenter (jittered ±25 %). */
  intervalMs: number;
  logger: Logger;
  registry?: Registry;
  /** ACL token sent with each exchange (`--acl-agent-token`): under a deny policy the other side requires agent write. */
  token?: string;
  /**
   * The servers speak HTTPS (this one runs with --tls-cert): exchanges and forwards use https,
   * verify against `ca` and present this server's certificate.
   */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/**
 * This server's part in the WAN: every `intervalMs` (jittered) it tells one server of each other
 * datacenter (and each join address not yet known) what it knows, and learns what that one
 * knows. One address is enough to learn every datacenter. A datacenter's own list of its
 * servers replaces what was known of it; a server that does not answer is marked failed (the
 * next server of its datacenter is tried at once), a datacenter with no answering server is
 * unreachable, and it comes back when one answers again. Each exchange's round trip is the RTT
 * sample that orders the datacenters.
 *
 * @example
 * const fed = new Federation({ datacenter: 'dc1', node: 's1', localServers: () => [self], join: ['10.0.1.5:8500'], intervalMs: 5000, logger });
 * fed.start();
 * fed.datacenters(); // ['dc1', 'dc2', ...] nearest first
 */
export class Federation {
  readonly table: WanMemberTable;
  readonly forwarder: WanForwarder;
  private readonly agent: Agent;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Exchanges in flight, by datacenter (or `seed:<address>`): a slow one never holds the others. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly turn = new Map<string, number>();
  private readonly exchanges: client.Counter<'result'> | undefined;
  private readonly forwards: client.Counter<'datacenter' | 'result'> | undefined;
  private readonly timeoutMs: number;
  private lastReachable = new Map<string, boolean>();

  constructor(private readonly o: FederationOptions) {
    this.table = new WanMemberTable(o.datacenter, o.localServers);
    this.timeoutMs = Math.min(5000, Math.max(1000, o.intervalMs * 2));
    this.agent = new Agent({
      connections: 4,
      keepAliveTimeout: 30_000,
      connect: { timeout: this.timeoutMs, ...o.tls },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    const reg = o.registry;
    if (reg) {
      const registers = [reg];
      this.exchanges = new client.Counter({
        name: 'beacon_cluster_wan_exchanges_total',
        help: 'WAN membership exchanges this server started, by result (ok, failed).',
        labelNames: ['result'],
        registers,
      });
      this.forwards = new client.Counter({
        name: 'beacon_cluster_wan_forwards_total',
        help: 'Requests forwarded to another datacenter, by datacenter and result (ok, failover, unreachable, timeout).',
        labelNames: ['datacenter', 'result'],
        registers,
      });
      const table = this.table;
      new client.Gauge({
        name: 'beacon_cluster_wan_datacenters',
        help: 'Datacenters this server knows (its own included), by state (reachable, unreachable).',
        labelNames: ['state'],
        registers,
        collect() {
          const dcs = table.datacenters();
          const up = dcs.filter((d) => table.reachable(d)).length;
          this.set({ state: 'reachable' }, up);
          this.set({ state: 'unreachable' }, dcs.length - up);
        },
      });
      new client.Gauge({
        name: 'beacon_cluster_wan_rtt_seconds',
        help: 'Round-trip time to each other datacenter (median over its answering servers).',
        labelNames: ['datacenter'],
        registers,
        collect() {
          this.reset();
          for (const dc of table.remoteDatacenters()) {
            const rtt = table.rtt(dc);
            if (rtt !== undefined) this.set({ datacenter: dc }, rtt / 1000);
          }
        },
      });
    }
    this.forwarder = new WanForwarder({
      table: this.table,
      from: o.datacenter,
      ...(o.tls ? { tls: o.tls } : {}),
      onResult: (dc: string, result: ForwardResult) => this.forwards?.inc({ datacenter: dc, result }),
    });
  }

  get datacenter(): string {
    return this.o.datacenter;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight.values()]);
    await Promise.allSettled([this.agent.destroy(), this.forwarder.close()]);
  }

  /** Every datacenter, nearest first. */
  datacenters(): string[] {
    return this.table.datacenters();
  }

  view(): DatacenterView[] {
    return this.table.view();
  }

  /**
   * Another datacenter's instances of a service, every health state (its /v1/health/service
   * answer), for prepared-query failover and DNS.
   */
  async remoteHealth<T>(dc: string, service: string, timeoutMs = 5000): Promise<T[]> {
    const url = `/v1/health/service/${encodeURIComponent(service)}?dc=${encodeURIComponent(dc)}`;
    const { body } = await this.forwarder.getJson<T[]>(dc, url, timeoutMs);
    if (!Array.isArray(body)) throw new Error(`datacenter ${dc} answered a health query with something that is not a list`);
    return body;
  }

  /**
   * Runs one exchange round now: each join address not yet known and each other datacenter,
   * all at once. A datacenter whose exchange of an earlier round is still running (its servers
   * are slow to time out) is left to it, so one slow datacenter never delays the others.
   */
  async exchangeNow(): Promise<void> {
    const targets: Promise<void>[] = [];
    const start = (key: string, fn: () => Promise<unknown>) => {
      if (this.inFlight.has(key)) return;
      const p = fn()
        .then(() => undefined)
        .catch((err: unknown) => this.o.logger.warn({ err, target: key }, 'WAN exchange failed'))
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
      targets.push(p);
    };
    for (const seed of this.o.join) if (!this.table.knowsHttp(seed)) start(`seed:${seed}`, () => this.exchangeWith(seed));
    for (const dc of this.table.remoteDatacenters()) start(dc, () => this.exchangeDc(dc));
    await Promise.all(targets);
    this.logReachability();
  }

  /** Another server's message: learn from it, answer with what this server knows. */
  receive(msg: ExchangeMessage): ExchangeMessage {
    this.learn(msg);
    this.table.succeeded(msg.Datacenter, msg.Node);
    return this.message();
  }

  private message(): ExchangeMessage {
    return { Datacenter: this.o.datacenter, Node: this.o.node, Servers: this.table.known() };
  }

  private learn(msg: ExchangeMessage): void {
    const byDc = new Map<string, WanServer[]>();
    for (const s of msg.Servers) {
      const list = byDc.get(s.Datacenter) ?? [];
      list.push(s);
      byDc.set(s.Datacenter, list);
    }
    if (msg.Datacenter !== this.o.datacenter) this.table.learn(msg.Datacenter, byDc.get(msg.Datacenter) ?? [], true);
    for (const [dc, list] of byDc) if (dc !== msg.Datacenter) this.table.learn(dc, list, false);
  }

  /** One datacenter: its servers in turn, starting from a rotating one, until one answers. */
  private async exchangeDc(dc: string): Promise<void> {
    const servers = this.table.serversToTry(dc);
    if (servers.length === 0) return;
    const start = (this.turn.get(dc) ?? 0) % servers.length;
    this.turn.set(dc, start + 1);
    // Answering servers take turns (each gets RTT samples); failed ones are tried after them.
    const alive = servers.filter((s) => !this.table.isFailed(dc, s.Node));
    const order = alive.length > 0 ? [...alive.slice(start % alive.length), ...alive.slice(0, start % alive.length)] : [];
    for (const s of servers) if (!order.includes(s)) order.push(s);
    for (const s of order) {
      if (this.stopped) return;
      const answered = await this.exchangeWith(s.Http, { dc, node: s.Node });
      if (answered) return;
    }
  }

  private async exchangeWith(http: string, known?: { dc: string; node: string }): Promise<boolean> {
    const started = performance.now();
    try {
      const res = await request(`${this.o.tls ? 'https' : 'http'}://${http}${WAN_EXCHANGE_ROUTE}`, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', ...(this.o.token ? { 'x-consul-token': this.o.token } : {}) },
        body: JSON.stringify(this.message()),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.body.text();
      const rtt = performance.now() - started;
      if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}: ${text.slice(0, 200)}`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const msg = parseExchange(parsed);
      if (!msg) throw new Error('answered with something that is not a WAN exchange message');
      this.learn(msg);
      this.table.succeeded(msg.Datacenter, msg.Node, rtt);
      this.exchanges?.inc({ result: 'ok' });
      return true;
    } catch (err) {
      this.exchanges?.inc({ result: 'failed' });
      if (known) this.table.failed(known.dc, known.node);
      this.o.logger.debug({ err, server: http }, 'WAN exchange failed');
      return false;
    }
  }

  private logReachability(): void {
    const now = new Map<string, boolean>();
    for (const dc of this.table.remoteDatacenters()) {
      const up = this.table.reachable(dc);
      now.set(dc, up);
      const before = this.lastReachable.get(dc);
      if (before === undefined) this.o.logger.info({ datacenter: dc }, 'joined datacenter over the WAN');
      else if (before && !up) this.o.logger.warn({ datacenter: dc }, 'datacenter unreachable: none of its servers answers');
      else if (!before && up) this.o.logger.info({ datacenter: dc }, 'datacenter reachable again');
    }
    this.lastReachable = now;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.exchangeNow();
      this.schedule(this.o.intervalMs * (0.75 + Math.random() * 0.5));
    }, delay);
    this.timer.unref();
  }
}
