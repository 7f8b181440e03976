import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * undici's raw-header handler interface (onConnect/onHeaders/onData/onComplete/onError). The
 * service dispatcher speaks it end to end: the caller's handler gets the socket's raw headers
 * as they are, with no parse-and-re-encode step per response.
 */
export interface RawHandler {
  onConnect(abort: (reason?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(rawTrailers: Buffer[] | null): void;
  onError(err: Error): void;
  onUpgrade?(statusCode: number, rawHeaders: Buffer[] | null, socket: Duplex): void;
  onBodySent?(chunkSize: number, totalBytesSent: number): void;
}

/** Raw `[name, value, name, value, …]` headers to an object (repeated names become arrays). */
export function parseRawHeaders(raw: ReadonlyArray<Buffer | string> | null | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!raw) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i].toString('latin1').toLowerCase();
    const value = raw[i + 1].toString('latin1');
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

/** Controller handed to a new-style handler by {@link toRawHandler}. */
class AdapterController implements Dispatcher.DispatchController {
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  resumeFn: (() => void) | undefined;
  constructor(private readonly abortFn: (reason?: Error) => void) {}
  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.abortFn(reason);
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.resumeFn?.();
  }
}

/**
 * The caller's handler as a {@link RawHandler}: handlers undici passes through `compose()`
 * already have the raw methods (its WrapHandler), so they are used as they are; a handler with
 * only the new-style methods (onRequestStart, onResponseStart, …) gets a small adapter.
 */
export function toRawHandler(handler: Dispatcher.DispatchHandler): RawHandler {
  if (typeof handler.onHeaders === 'function' && typeof handler.onError === 'function') return handler as unknown as RawHandler;
  let controller: AdapterController | undefined;
  const ctrl = () => (controller ??= new AdapterController(() => {}));
  return {
    onConnect(abort, context) {
      controller = new AdapterController(abort);
      handler.onRequestStart?.(controller, context);
    },
    onHeaders(statusCode, rawHeaders, resume, statusText) {
      const c = ctrl();
      c.resumeFn = resume;
      handler.onResponseStart?.(c, statusCode, parseRawHeaders(rawHeaders), statusText);
      return !c.paused;
    },
    onData(chunk) {
      const c = ctrl();
      handler.onResponseData?.(c, chunk);
      return !c.paused;
    },
    onComplete(rawTrailers) {
      handler.onResponseEnd?.(ctrl(), parseRawHeaders(rawTrailers));
    },
    onError(err) {
      handler.onResponseError?.(ctrl(), err);
    },
    onUpgrade(statusCode, rawHeaders, socket) {
      handler.onRequestUpgrade?.(ctrl(), statusCode, parseRawHeaders(rawHeaders), socket);
    },
  };
}
