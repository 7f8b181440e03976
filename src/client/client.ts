import { Agent, fetch as undiciFetch, Headers, type Dispatcher, type RequestInfo, type RequestInit, type Response } from 'undici';
import type { StrategyName } from './balance/index.js';
import { BeaconClientError, invalidOption } from './client-error.js';
import {
  checkFailover,
  ConsulDiscovery,
  discoverWithFailover,
  DnsDiscovery,
  makeQuery,
  snapshotFromQuery,
  type FailoverOption,
  StaticDiscovery,
  type Discovery,
  type DiscoverOptions,
  type ServiceInstance,
  type ServiceSnapshot,
  type WatchListener,
} from './discovery/index.js';
import { safeLogger, type ClientLogger } from './logger.js';
import { resolveConfig, type BeaconClientOptions, type ClientConfig } from './options.js';
import { describe, knownKeys } from './validate.js';
import { buildServiceDefinition, installShutdownHook, Registration, type RegisterOptions } from './registration/index.js';
import { beaconInterceptor, IDEMPOTENT_METHODS, REPLAY_HEADER, replayableFetchBody, ServiceRouter, type ReplayBody, type RoutedCall } from './routing/index.js';
import { RegistryTransport } from './transport/index.js';

/** Options of {@link BeaconClient.pick} and {@link BeaconClient.startCall}. */
export interface PickOptions extends DiscoverOptions {
  /** Consistent-hash key (client IP, user id, ...). */
  readonly key?: string;
}

const DISCOVER_KEYS = ['tag', 'dc', 'passing'] as const satisfies readonly (keyof DiscoverOptions)[];
const PICK_KEYS = [...DISCOVER_KEYS, 'key'] as const satisfies readonly (keyof PickOptions)[];

/** The options of one call, refused when they hold a key the call does not take (`{ tags: ... }`). */
function callOptions<T extends object>(options: T, allowed: readonly string[], call: string): T {
  // On the pick path: no allocation unless something is wrong.
  if (typeof options !== 'object' || options === null) knownKeys(options, allowed, `${call} options`);
  for (const k in options) if (!allowed.includes(k)) knownKeys(options, allowed, `${call} options`);
  const key = (options as PickOptions).key;
  if (key !== undefined && typeof key !== 'string') throw invalidOption(`${call}: key must be a string, got ${describe(key)}`);
  return options;
}

/**
 * The Beacon SDK: registers this process's instances and keeps them alive, discovers other
 * services from a local cache kept fresh by blocking queries, balances calls over their healthy
 * instances, ejects failing ones, and keeps working from the last known set when the registry is
 * down. Works against Beacon or any Consul-compatible server.
 *
 * @example
 * import { BeaconClient } from 'beacon/client';
 *
 * const beacon = new BeaconClient({ servers: ['http://127.0.0.1:8500'] });
 * await beacon.register({ name: 'web', port: 8080, address: '10.0.0.5', check: { ttl: '15s' } });
 * const res = await beacon.fetch('http://payments/v1/charges');
 * // ... on shutdown (SIGTERM/SIGINT also deregister automatically):
 * await beacon.close();
 */
export class BeaconClient {
  /** The validated configuration. */
  readonly config: ClientConfig;
  readonly #log: ClientLogger;
  readonly #registryAgent: Agent;
  readonly #serviceAgent: Agent;
  readonly #transport: RegistryTransport;
  readonly #discovery: Discovery;
  readonly #outlier: BeaconClientOptions['passiveHealth'];
  readonly #balancerOpts: BeaconClientOptions['balancer'];
  readonly #routers = new Map<string, ServiceRouter>();
  readonly #plainRouters = new Map<string, ServiceRouter>();
  readonly #registrations = new Map<string, Registration>();
  readonly #replayBodies = new Map<string, ReplayBody>();
  #replaySeq = 0;
  #dispatcher: Dispatcher | undefined;
  #removeSignalHook: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: BeaconClientOptions = {}) {
    this.config = resolveConfig(options);
    this.#log = safeLogger(options.logger);
    const agentOpts = { connect: { timeout: Math.min(this.config.requestTimeoutMs, 5_000) }, ...options.agent };
    this.#registryAgent = new Agent(options.tls ? { ...agentOpts, connect: { ...agentOpts.connect, ...options.tls } } : agentOpts);
    this.#serviceAgent = new Agent(agentOpts);
    this.#transport = new RegistryTransport({
      servers: this.config.servers,
      token: this.config.token,
      dispatcher: this.#registryAgent,
      timeoutMs: this.config.requestTimeoutMs,
      log: this.#log,
    });
    this.#outlier = options.passiveHealth;
    this.#balancerOpts = options.balancer;
    if (options.discovery) this.#discovery = options.discovery;
    else if (options.static) this.#discovery = new StaticDiscovery(options.static, this.#log);
    else if (options.dns) this.#discovery = new DnsDiscovery(options.dns, this.config.retry, this.#log);
    else {
      this.#discovery = new ConsulDiscovery({
        transport: this.#transport,
        waitMs: this.config.waitMs,
        timeoutMs: this.config.requestTimeoutMs,
        allowStale: this.config.allowStale,
        retry: this.config.retry,
        rearm: { jitterMs: 20, minBlockMs: 50, pollMs: Math.max(1_000, Math.min(10_000, this.config.waitMs)) },
        log: this.#log,
      });
    }
  }

  /** Which discovery backend is in use. */
  get mode(): Discovery['mode'] {
    return this.#discovery.mode;
  }

  /**
   * Registers an instance and keeps it alive until deregistered: a TTL check gets a heartbeat
   * every third of its TTL (jittered); HTTP/TCP checks are run by the server. If the registry
   * later answers that it does not know the instance, it is registered again. Instances are
   * deregistered on SIGTERM/SIGINT (see `deregisterOnSignals`) and by {@link close}.
   *
   * @example
   * const reg = await beacon.register({
   *   name: 'payments', port: 8080, address: '10.0.0.7', tags: ['v2'],
   *   meta: { version: '2.3.1' }, weights: { passing: 10, warning: 1 },
   *   check: { http: 'http://10.0.0.7:8080/health', interval: '10s' },
   * });
   */
  async register(options: RegisterOptions): Promise<Registration> {
    this.#assertOpen();
    if (this.#discovery.mode !== 'http' && !this.config.serversGiven) {
      throw invalidOption("register needs the registry's HTTP address: pass `servers` (DNS and static modes only discover)");
    }
    const def = buildServiceDefinition(options);
    const existing = this.#registrations.get(def.id);
    if (existing) existing.stop();
    const reg = new Registration(def, this.#transport, { verifyMs: this.config.verifyRegistrationMs, log: this.#log }, (gone) => {
      if (this.#registrations.get(gone.id) === gone) this.#registrations.delete(gone.id);
      if (this.#registrations.size === 0) this.#uninstallSignals();
    });
    this.#registrations.set(def.id, reg);
    try {
      await reg.start();
    } catch (err) {
      reg.stop();
      if (this.#registrations.get(def.id) === reg) this.#registrations.delete(def.id);
      throw err;
    }
    this.#installSignals();
    this.#log('info', 'service registered', { id: def.id, name: def.name });
    return reg;
  }

  /** Deregisters one instance by id, or every instance this client registered. */
  async deregister(id?: string): Promise<void> {
    const regs = id === undefined ? [...this.#registrations.values()] : [this.#registrations.get(id)].filter((r): r is Registration => r !== undefined);
    const results = await Promise.allSettled(regs.map((r) => r.deregister()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Instances this client keeps registered. */
  get registrations(): readonly Registration[] {
    return [...this.#registrations.values()];
  }

  /**
   * The healthy instances of `name`, from the local cache (the first call waits for the first
   * answer). The cache follows changes through blocking queries. When the registry is
   * unreachable the last known set is returned with `stale: true` and its age; it is never
   * emptied because the registry is down. Rejects only when there is no known set at all.
   *
   * @example
   * const { instances, stale, ageMs } = await beacon.discover('payments', { tag: 'v2' });
   */
  discover(name: string, options: DiscoverOptions & { failover?: FailoverOption } = {}): Promise<ServiceSnapshot> {
    try {
      this.#assertOpen();
      const { failover: rawFailover, ...rest } = options;
      const failover = checkFailover(rawFailover);
      const snapshot = (dc?: string) =>
        this.#discovery.snapshot(makeQuery(name, callOptions(dc === undefined ? rest : { ...rest, dc }, DISCOVER_KEYS, 'discover'), this.config.datacenter));
      if (failover === undefined) return snapshot();
      if (Array.isArray(failover))
        return discoverWithFailover(
          () => snapshot(),
          failover as readonly string[],
          (dc) => snapshot(dc),
        );
      return this.#executeQuery((failover as { query: string }).query);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Runs a prepared query on the registry (HTTP mode): the registry fails over across datacenters. */
  async #executeQuery(query: string): Promise<ServiceSnapshot> {
    if (this.#discovery.mode !== 'http') throw invalidOption('discover: failover by prepared query needs the HTTP registry (not DNS or static discovery)');
    const res = await this.#transport.request({ method: 'GET', path: `/v1/query/${encodeURIComponent(query)}/execute` });
    if (res.status !== 200) {
      throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `prepared query ${JSON.stringify(query)}: ${res.status} ${res.text.trim().slice(0, 200)}`, {
        status: res.status,
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch (err) {
      throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `prepared query ${JSON.stringify(query)}: the answer is not JSON`, { cause: err });
    }
    const index = Number(res.headers['x-consul-index']);
    return snapshotFromQuery(query, body, Number.isFinite(index) ? index : undefined);
  }

  /**
   * The cached set of `name` without waiting or starting anything: undefined until a
   * discover/watch/pick for the same query has had its first answer.
   */
  cached(name: string, options: DiscoverOptions = {}): ServiceSnapshot | undefined {
    return this.#discovery.current(makeQuery(name, callOptions(options, DISCOVER_KEYS, 'cached'), this.config.datacenter));
  }

  /**
   * Calls `listener` with every change of `name`'s healthy set: first all current instances as
   * `added`, then each `added` / `removed` / `changed` difference. Returns an unsubscribe function.
   *
   * @example
   * const stop = beacon.watch('payments', ({ added, removed, changed }) => { ... });
   * stop();
   */
  watch(name: string, listener: WatchListener, options: DiscoverOptions = {}): () => void {
    this.#assertOpen();
    if (typeof listener !== 'function') throw invalidOption('watch: listener must be a function');
    return this.#discovery.watch(makeQuery(name, callOptions(options, DISCOVER_KEYS, 'watch'), this.config.datacenter), listener);
  }

  /**
   * Picks one healthy, non-ejected instance of `name` with the service's strategy. Rejects with
   * `BEACON_ERR_NO_INSTANCES` when there is none.
   *
   * @example
   * const inst = await beacon.pick('sessions', { key: userId });
   * connect(inst.address, inst.port);
   */
  pick(name: string, options: PickOptions = {}): Promise<ServiceInstance> {
    try {
      this.#assertOpen();
      return this.#router(name, callOptions(options, PICK_KEYS, 'pick')).pick(options.key);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Picks an instance and tracks the call, for protocols other than HTTP: report how it ended
   * with `done`, which feeds the balancer (latency, in-flight) and passive health.
   *
   * @example
   * const call = await beacon.startCall('cache');
   * const t0 = performance.now();
   * try { await query(call.instance); call.done({ latencyMs: performance.now() - t0, failed: false }); }
   * catch (err) { call.done({ latencyMs: performance.now() - t0, failed: true }); throw err; }
   */
  async startCall(name: string, options: PickOptions = {}): Promise<RoutedCall> {
    this.#assertOpen();
    const router = this.#router(name, callOptions(options, PICK_KEYS, 'startCall'));
    return router.begin(await router.pick(options.key));
  }

  /**
   * An undici Dispatcher that sends `http://<service>/…` (also `<service>.service[.<dc>].consul`)
   * to a picked instance, retries idempotent requests on another instance after a connection
   * failure, timeout or 5xx, and feeds passive health. Other hosts pass through unchanged.
   * Requests with a body are retried when the dispatcher gets it as a string or bytes (undici's
   * `request()`); fetch hands dispatchers streams, so use {@link fetch} for retried PUT/DELETE.
   *
   * @example
   * import { request } from 'undici';
   * await request('http://payments/v1/charges', { dispatcher: beacon.dispatcher });
   */
  get dispatcher(): Dispatcher {
    this.#assertOpen();
    this.#dispatcher ??= this.#serviceAgent.compose(
      beaconInterceptor({
        router: (t) => this.#router(t.name, { dc: t.dc }),
        retries: this.config.retries,
        hashKeyHeader: this.config.hashKeyHeader,
        domain: 'consul',
        log: this.#log,
        replayBodies: this.#replayBodies,
      }),
    );
    return this.#dispatcher;
  }

  /**
   * `fetch` through {@link dispatcher}: `beacon.fetch('http://payments/v1/charges')`.
   * The consistent-hash key, if any, goes in the `x-beacon-hash-key` header.
   *
   * Idempotent requests (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) are retried on another instance
   * when their body can be sent again: none, a string, URLSearchParams, a Buffer or other typed
   * array, a DataView or an ArrayBuffer. A stream, async iterable, Blob or FormData body is sent
   * once and never retried (it may already be consumed).
   *
   * @example
   * await beacon.fetch('http://inventory/v1/items/42', { method: 'PUT', body: JSON.stringify(item) });
   */
  fetch(input: RequestInfo, init: RequestInit = {}): Promise<Response> {
    try {
      const dispatcher = this.dispatcher;
      const replay = init.body == null || this.config.retries === 0 ? undefined : this.#replayable(input, init);
      if (replay === undefined) return undiciFetch(input, { ...init, dispatcher });
      // undici's fetch hands dispatchers every body as a one-shot stream: keep a copy the
      // dispatcher can send again, named by a token header it strips (routing/replay.ts).
      const token = `${++this.#replaySeq}`;
      const requestHeaders = typeof input === 'object' && 'headers' in input ? input.headers : undefined;
      const headers = new Headers(init.headers ?? requestHeaders);
      headers.set(REPLAY_HEADER, token);
      this.#replayBodies.set(token, replay);
      return undiciFetch(input, { ...init, headers, dispatcher }).finally(() => this.#replayBodies.delete(token));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The replayable copy of an idempotent fetch's body, or undefined when it must not be retried. */
  #replayable(input: RequestInfo, init: RequestInit): ReplayBody | undefined {
    const method = init.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET');
    if (!IDEMPOTENT_METHODS.has(method.toUpperCase())) return undefined;
    return replayableFetchBody(init.body);
  }

  /**
   * Stops every loop and closes connections; by default deregisters this client's instances
   * first. Idempotent: later calls return the same promise.
   */
  close(options: { deregister?: boolean } = {}): Promise<void> {
    this.#closed ??= (async () => {
      this.#uninstallSignals();
      if (options.deregister !== false) {
        await this.deregister().catch((err: unknown) => this.#log('warn', 'deregistration on close failed', { error: String(err) }));
      }
      for (const r of this.#registrations.values()) r.stop();
      this.#registrations.clear();
      await this.#discovery.close();
      await Promise.allSettled([this.#registryAgent.close(), this.#serviceAgent.close()]);
    })();
    return this.#closed;
  }

  #router(name: string, options: DiscoverOptions): ServiceRouter {
    // Fast path for the common call without options: no query key to build.
    const plain = options.tag === undefined && options.dc === undefined && options.passing === undefined;
    const cached = plain ? this.#plainRouters.get(name) : undefined;
    if (cached) return cached;
    const query = makeQuery(name, options, this.config.datacenter);
    let router = this.#routers.get(query.key);
    if (!router) {
      const strategy: StrategyName = this.config.serviceStrategies.get(name) ?? this.config.strategy;
      router = new ServiceRouter(this.#discovery, query, strategy, {
        balancer: this.#balancerOpts,
        outlier: this.#outlier === false ? { maxEjectedFraction: 0 } : this.#outlier,
        log: this.#log,
      });
      this.#routers.set(query.key, router);
    }
    if (plain) this.#plainRouters.set(name, router);
    return router;
  }

  #installSignals(): void {
    if (this.#removeSignalHook || this.config.signals.length === 0) return;
    this.#removeSignalHook = installShutdownHook(this.config.signals, () => this.deregister(), {
      timeoutMs: this.config.shutdownTimeoutMs,
      log: this.#log,
    });
  }

  #uninstallSignals(): void {
    this.#removeSignalHook?.();
    this.#removeSignalHook = undefined;
  }

  #assertOpen(): void {
    if (this.#closed) throw new BeaconClientError('BEACON_ERR_CLIENT_CLOSED', 'The Beacon client is closed');
  }
}
