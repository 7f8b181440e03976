import type { Dispatcher } from 'undici';
import type { ServiceInstance } from '../discovery/index.js';
import { errorText, type ClientLogger } from '../logger.js';
import { getHeader, withHost } from './headers.js';
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
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Error codes that mean the instance (or the way to it) failed, not the request or the caller. */
const NETWORK_FAILURES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTCONN',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
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

function replayable(body: unknown): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array;
}

/** The controller the caller's handler sees: stable across attempts, forwarding to the current one. */
class CallController implements Dispatcher.DispatchController {
  #aborted = false;
  #reason: Error | null = null;
  #paused = false;
  current: Dispatcher.DispatchController | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  get paused(): boolean {
    return this.#paused;
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.current?.abort(reason);
  }
  pause(): void {
    this.#paused = true;
    this.current?.pause();
  }
  resume(): void {
    this.#paused = false;
    this.current?.resume();
  }
}

/**
 * One request to a service: picks an instance, dispatches to it, and — for idempotent requests
 * with a replayable body — retries on another instance after a connection failure, timeout or
 * 5xx, as long as nothing has been passed to the caller yet. Every attempt feeds the balancer
 * and passive health.
 */
class ServiceCall implements Dispatcher.DispatchHandler {
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #router: ServiceRouter;
  readonly #host: string;
  readonly #protocol: string;
  readonly #key: string | undefined;
  readonly #mayRetry: boolean;
  readonly #log: ClientLogger;
  readonly #controller = new CallController();
  readonly #tried = new Set<string>();
  #attemptsLeft: number;
  #call: RoutedCall | undefined;
  #next: ServiceInstance | undefined;
  #started = 0;
  #latency = 0;
  #failed = false;
  #requestStarted = false;
  #phase: 'connecting' | 'discarding' | 'forwarding' | 'done' = 'connecting';

  constructor(dispatch: Dispatcher.Dispatch, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, url: URL, router: ServiceRouter, io: InterceptorOptions) {
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#handler = handler;
    this.#router = router;
    this.#host = url.host;
    this.#protocol = url.protocol;
    this.#key = getHeader(opts.headers, io.hashKeyHeader);
    this.#mayRetry = IDEMPOTENT.has(String(opts.method).toUpperCase()) && replayable(opts.body) && !opts.upgrade;
    this.#attemptsLeft = 1 + (this.#mayRetry ? Math.max(0, io.retries) : 0);
    this.#log = io.log;
  }

  start(): void {
    this.#attempt();
  }

  #attempt(): void {
    const instance = this.#next;
    this.#next = undefined;
    if (instance) return this.#send(instance);
    const snap = this.#router.snapshotNow();
    if (snap) {
      // The usual case: the set is cached, so the pick is synchronous.
      const picked = this.#router.pickFrom(snap, this.#key, this.#tried);
      return picked ? this.#send(picked) : this.#fail(this.#router.noInstances(snap));
    }
    this.#router.pick(this.#key, this.#tried).then(
      (inst) => this.#send(inst),
      (err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))),
    );
  }

  #send(instance: ServiceInstance): void {
    if (this.#controller.aborted) return this.#fail(this.#controller.reason ?? new Error('aborted'));
    this.#tried.add(instance.id);
    this.#attemptsLeft -= 1;
    this.#phase = 'connecting';
    this.#call = this.#router.begin(instance);
    this.#started = performance.now();
    const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
    try {
      this.#dispatch({ ...this.#opts, origin: `${this.#protocol}//${host}:${instance.port}`, headers: withHost(this.#opts.headers, this.#host) }, this);
    } catch (err) {
      this.#call.done({ latencyMs: 0, failed: false, aborted: true });
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Whether another attempt may follow; if so, the next instance is chosen now. */
  #canRetry(): boolean {
    if (!this.#mayRetry || this.#attemptsLeft <= 0 || this.#controller.aborted) return false;
    const snap = this.#router.snapshotNow();
    this.#next = snap ? this.#router.pickFrom(snap, this.#key, this.#tried) : undefined;
    return this.#next !== undefined;
  }

  #fail(err: Error): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#handler.onResponseError?.(this.#controller, err);
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#controller.current = controller;
    if (this.#controller.aborted) {
      controller.abort(this.#controller.reason ?? new Error('aborted'));
      return;
    }
    if (this.#controller.paused) controller.pause();
    if (!this.#requestStarted) {
      this.#requestStarted = true;
      this.#handler.onRequestStart?.(this.#controller, context);
    }
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: import('node:stream').Duplex): void {
    this.#call?.done({ latencyMs: performance.now() - this.#started, failed: false });
    this.#phase = 'done';
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) {
      this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
      return;
    }
    // Latency is time to headers; the call stays in flight until its body ends.
    this.#latency = performance.now() - this.#started;
    this.#failed = statusCode >= 500;
    if (this.#failed && this.#canRetry()) {
      this.#call?.done({ latencyMs: this.#latency, failed: true });
      this.#phase = 'discarding';
      this.#log('debug', 'retrying on another instance', { service: this.#router.query.name, status: statusCode, next: this.#next?.id });
      return;
    }
    this.#phase = 'forwarding';
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#phase === 'forwarding') this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    if (this.#phase === 'discarding') return this.#attempt();
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#call?.done({ latencyMs: this.#latency, failed: this.#failed });
    this.#handler.onResponseEnd?.(this.#controller, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#phase === 'done') return;
    if (this.#phase === 'discarding') {
      // The 5xx we were skipping broke off; the next instance was already chosen.
      if (!this.#controller.aborted) return this.#attempt();
      return this.#fail(err);
    }
    const aborted = this.#controller.aborted || isAbort(err);
    const failed = !aborted && isInstanceFailure(err);
    if (this.#phase === 'forwarding') {
      // Broke off mid-body: the headers' verdict stands unless the connection failed.
      this.#call?.done({ latencyMs: this.#latency, failed: this.#failed || failed, aborted: aborted && !this.#failed });
      return this.#fail(err);
    }
    this.#call?.done({ latencyMs: performance.now() - this.#started, failed, aborted: !failed });
    if (failed && this.#canRetry()) {
      this.#log('debug', 'retrying on another instance', { service: this.#router.query.name, error: errorText(err), next: this.#next?.id });
      return this.#attempt();
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
  const targets = new Map<string, ServiceTarget | null>();
  return (dispatch) =>
    function beaconDispatch(opts, handler) {
      const origin = opts.origin;
      if (origin === undefined) return dispatch(opts, handler);
      const text = typeof origin === 'string' ? origin : origin.origin;
      let target = targets.get(text);
      let url: URL | undefined;
      if (target === undefined) {
        url = new URL(text);
        target = serviceFromHost(url.hostname, io.domain) ?? null;
        if (targets.size > 1_000) targets.clear();
        targets.set(text, target);
      }
      if (target === null) return dispatch(opts, handler);
      new ServiceCall(dispatch, opts, handler, url ?? new URL(text), io.router(target), io).start();
      return true;
    };
}
