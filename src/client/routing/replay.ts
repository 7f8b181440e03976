import type { Dispatcher } from 'undici';
import { getHeader, withoutHeader } from './headers.js';

/** Methods whose requests may be sent again on another instance (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Request header through which `beacon.fetch` hands the dispatcher a body it can send again.
 * undici's fetch turns every body into a one-shot stream before it reaches a dispatcher, so
 * `beacon.fetch` keeps a replayable copy under a token and names the token in this header; the
 * dispatcher swaps the copy in and removes the header, so no upstream ever sees it.
 */
export const REPLAY_HEADER = 'x-beacon-replay-body';

/** A body that can be sent any number of times. */
export type ReplayBody = string | Uint8Array;

/**
 * The bytes of a fetch body that can be sent again — a string, URLSearchParams (as fetch
 * serialises it), a Buffer or other typed array, a DataView or an ArrayBuffer (copied, as fetch
 * copies it) — or undefined for anything else (streams, async iterables, Blob, FormData).
 */
export function replayableFetchBody(body: unknown): ReplayBody | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice();
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  return undefined;
}

/** True for a dispatcher body that can be sent again as it is. */
export function isReplayable(body: unknown): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer;
}

/**
 * `opts` with the replay header removed and, when it names a body kept in `bodies`, that body
 * in place of the one-shot stream fetch passed (which is closed unread).
 */
export function takeReplayBody(opts: Dispatcher.DispatchOptions, bodies: ReadonlyMap<string, ReplayBody>): Dispatcher.DispatchOptions {
  const token = getHeader(opts.headers, REPLAY_HEADER);
  if (token === undefined) return opts;
  const headers = withoutHeader(opts.headers, REPLAY_HEADER);
  // A 303 redirect drops the body (fetch then sends none): keep it that way.
  const saved = opts.body != null ? bodies.get(token) : undefined;
  if (saved === undefined) return { ...opts, headers };
  const stream = opts.body as { return?: () => Promise<unknown> } | null | undefined;
  if (typeof stream?.return === 'function') stream.return().catch(() => {});
  return { ...opts, headers, body: saved };
}
