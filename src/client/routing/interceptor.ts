import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ServiceInstance } from '../discovery/index.js';
import { errorText, type ClientLogger } from '../logger.js';
import { getHeader, withHost } from './headers.js';
import { toRawHandler, type RawHandler } from './legacy-handler.js';
import { IDEMPOTENT_METHODS, isReplayable, takeReplayBody, type ReplayBody } from './replay.js';
import { serviceFromHost, type ServiceTarget } from './service-host.js';
import type { RoutedCall, ServiceRouter } from './service-router.js';

/** Settings of the service-resolving dispatcher. */
export interface InterceptorOptions {
  /** The router for a service named by a URL host. */
  readonly router: (target: ServiceTarget) => ServiceRouter;
  /** Extra attempts, each on another instance, for idempotent requests. Default 2. */
  readonly retries: number;
  /** Request header whose value is the consistent-hash key. Default `x-beacon-hash-key`. */
  readonly hashKeyHeader: string;
  /** DNS domain of `<name>.service[.<dc>].<domain>` hosts. Default `consul`. */
  readonly domain: string;
  readonly log: ClientLogger;
  /**
   * Replayable bodies of `beacon.fetch` calls in flight, by the token their request carries in
   * the `x-beacon-replay-body` header (see replay.ts). The header never leaves this dispatcher.
   */
  readonly replayBodies?: ReadonlyMap<string, ReplayBody>;
}

/** Error codes that mean the instance (or the way to it) failed, not the request or the caller. */
const NETWORK_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTCONN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** True when `err` is a connection failure or timeout (an instance fault). */
export function isInstanceFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_FAILURES.has(code);
}

function isAbort(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  return e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED' || e?.code === 'ABORT_ERR';
}

/** A service named by an origin, with its router once resolved. */
interface Route {
  readonly host: string;
  readonly protocol: string;
  readonly router: ServiceRouter;
}

/**
 * One request to a service: picks an instance, dispatches to it, and — for idempotent requests
 * with a replayable body — retries on another instance after a connection failure, timeout or
 * 5xx, as long as nothing has been passed to the caller yet. Every attempt feeds the balancer
 * and passive health. Towards undici it is a raw-header handler; the caller's handler gets the
 * response as undici delivered it.
 */
class ServiceCall implements RawHandler {
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #headers: Dispatcher.DispatchOptions['headers'];
  readonly #user: RawHandler;
  readonly #route: Route;
  readonly #key: string | undefined;
  readonly #mayRetry: boolean;
  readonly #log: ClientLogger;
  #tried: Set<string> | undefined;
  #attemptsLeft: number;
  #call: RoutedCall | undefined;
  #next: ServiceInstance | undefined;
  #started = 0;
  #latency = 0;
  #failed = false;
  #connected = false;
  #aborted: Error | undefined;
  #abortAttempt: ((reason?: Error) => void) | undefined;
  #phase: 0 | 1 | 2 | 3 = 0; // connecting, discarding a 5xx, forwarding, done

  constructor(dispatch: Dispatcher.Dispatch, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, route: Route, io: InterceptorOptions) {
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#headers = withHost(opts.headers, route.host);
    this.#user = toRawHandler(handler);
    this.#route = route;
    this.#key = getHeader(opts.headers, io.hashKeyHeader);
    this.#mayRetry = io.retries > 0 && IDEMPOTENT_METHODS.has(String(opts.method).toUpperCase()) && isReplayable(opts.body) && !opts.upgrade;
    this.#attemptsLeft = 1 + (this.#mayRetry ? io.retries : 0);
    this.#log = io.log;
  }

  start(): void {
    const router = this.#route.router;
    const snap = router.snapshotNow();
    if (snap) {
      // The usual case: the set is cached, so the pick is synchronous.
      const picked = router.pickFrom(snap, this.#key);
      if (picked) this.#send(picked);
      else this.#fail(router.noInstances(snap));
      return;
    }
    router.pick(this.#key).then(
      (inst) => this.#send(inst),
      (err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))),
    );
  }

  #send(instance: ServiceInstance): void {
    if (this.#aborted) return this.#fail(this.#aborted);
    if (this.#mayRetry) (this.#tried ??= new Set()).add(instance.id);
    this.#attemptsLeft -= 1;
    this.#phase = 0;
    this.#call = this.#route.router.begin(instance);
    this.#started = performance.now();
    const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
    this.#dispatch(
      { ...this.#opts, origin: `${this.#route.protocol}//${host}:${instance.port}`, headers: this.#headers },
      this as unknown as Dispatcher.DispatchHandler,
    );
  }

  /** Whether another attempt may follow; if so, the next instance is chosen now. */
  #canRetry(): boolean {
    if (!this.#mayRetry || this.#attemptsLeft <= 0 || this.#aborted) return false;
    const snap = this.#route.router.snapshotNow();
    this.#next = snap ? this.#route.router.pickFrom(snap, this.#key, this.#tried) : undefined;
    return this.#next !== undefined;
  }

  #retry(): void {
    const next = this.#next!;
    this.#next = undefined;
    this.#send(next);
  }

  #fail(err: Error): void {
    if (this.#phase === 3) return;
    this.#phase = 3;
    this.#user.onError(err);
  }

  readonly #abortFromUser = (reason?: Error): void => {
    if (this.#aborted) return;
    this.#aborted = reason ?? new Error('The request was aborted');
    this.#abortAttempt?.(this.#aborted);
  };

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#abortAttempt = abort;
    if (this.#aborted) {
      abort(this.#aborted);
      return;
    }
    if (!this.#connected) {
      this.#connected = true;
      this.#user.onConnect(this.#abortFromUser, context);
    }
  }

  onResponseStarted(): void {
    if (this.#phase === 0) this.#user.onResponseStarted?.();
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.#user.onBodySent?.(chunkSize, totalBytesSent);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | null, socket: Duplex): void {
    this.#call?.done({ latencyMs: performance.now() - this.#started, failed: false });
    this.#phase = 3;
    this.#user.onUpgrade?.(statusCode, rawHeaders, socket);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return this.#user.onHeaders(statusCode, rawHeaders, resume, statusText);
    // Latency is time to headers; the call stays in flight until its body ends.
    this.#latency = performance.now() - this.#started;
    this.#failed = statusCode >= 500;
    if (this.#failed && this.#canRetry()) {
      this.#call?.done({ latencyMs: this.#latency, failed: true });
      this.#phase = 1;
      this.#log('debug', 'retrying on another instance', { service: this.#route.router.query.name, status: statusCode, next: this.#next?.id });
      return true;
    }
    this.#phase = 2;
    return this.#user.onHeaders(statusCode, rawHeaders, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    return this.#phase === 2 ? this.#user.onData(chunk) : true;
  }

  onComplete(rawTrailers: Buffer[] | null): void {
    if (this.#phase === 1) return this.#retry();
    if (this.#phase === 3) return;
    this.#phase = 3;
    this.#call?.done({ latencyMs: this.#latency, failed: this.#failed });
    this.#user.onComplete(rawTrailers);
  }

  onError(err: Error): void {
    if (this.#phase === 3) return;
    if (this.#phase === 1) {
      // The 5xx we were skipping broke off; the next instance was already chosen.
      return this.#aborted ? this.#fail(err) : this.#retry();
    }
    const aborted = this.#aborted !== undefined || isAbort(err);
    const failed = !aborted && isInstanceFailure(err);
    if (this.#phase === 2) {
      // Broke off mid-body: the headers' verdict stands unless the connection failed.
      this.#call?.done({ latencyMs: this.#latency, failed: this.#failed || failed, aborted: aborted && !this.#failed });
      return this.#fail(err);
    }
    this.#call?.done({ latencyMs: performance.now() - this.#started, failed, aborted: !failed });
    if (failed && this.#canRetry()) {
      this.#log('debug', 'retrying on another instance', { service: this.#route.router.query.name, error: errorText(err), next: this.#next?.id });
      return this.#retry();
    }
    this.#fail(err);
  }
}

/**
 * An undici interceptor that sends requests for `http://<service>/…` to an instance of the
 * service (see {@link serviceFromHost}); other hosts pass through untouched. Compose it onto any
 * undici Dispatcher: `new Agent().compose(beaconInterceptor(opts))`.
 */
export function beaconInterceptor(io: InterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const routes = new Map<string, Route | null>();
  const replay = io.replayBodies;
  return (dispatch) =>
    function beaconDispatch(opts, handler) {
      // Only while a beacon.fetch with a replayable body is in flight: GETs pay nothing.
      if (replay !== undefined && replay.size > 0) opts = takeReplayBody(opts, replay);
      const origin = opts.origin;
      if (origin === undefined) return dispatch(opts, handler);
      const text = typeof origin === 'string' ? origin : origin.origin;
      let route = routes.get(text);
      if (route === undefined) {
        const url = new URL(text);
        const target = serviceFromHost(url.hostname, io.domain);
        route = target ? { host: url.host, protocol: url.protocol, router: io.router(target) } : null;
        if (routes.size >= 1_000) routes.clear();
        routes.set(text, route);
      }
      if (route === null) return dispatch(opts, handler);
      new ServiceCall(dispatch, opts, handler, route, io).start();
      return true;
    };
}
