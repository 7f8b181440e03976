import { Agent, request } from 'undici';
import type { HealthStatus } from '../catalog/index.js';
import { BeaconError, ERRORS, type ErrorCode } from '../errors/index.js';

/** The route a server takes a TTL update forwarded by another server on. */
export const FORWARDED_TTL_ROUTE = '/v1/beacon/cluster/ttl';

export interface ForwardedTtl {
  Node: string;
  CheckID: string;
  Status: HealthStatus;
  Output: string;
}

/**
 * Sends TTL updates to the server that owns the check (cluster mode): a heartbeat may reach any
 * server, and the one that keeps the check's timer is the one that must see it. One connection
 * pool per peer; a bounded time per try. The owner applies it only if it still owns the check
 * (no second hop), so a heartbeat never bounces between servers while ownership moves.
 *
 * @example
 * const fwd = new TtlForwarder({ timeoutMs: 3000 });
 * await fwd.send('10.0.0.2:8500', { Node: 'beacon-servers', CheckID: 'service:web-1', Status: 'passing', Output: '' });
 */
export class TtlForwarder {
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  private readonly onResult: (result: 'ok' | 'refused' | 'unreachable') => void;

  private readonly scheme: 'http' | 'https';
  private readonly token: string | undefined;

  /**
   * `tls`: the servers speak HTTPS; their certificates are verified against `ca`, and this
   * server presents `cert`/`key` (its own server certificate) where they require client certificates.
   */
  constructor(
    opts: {
      timeoutMs?: number;
      onResult?: (result: 'ok' | 'refused' | 'unreachable') => void;
      tls?: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string };
      /** ACL token sent with each forward (`--acl-agent-token`): it needs service:write (and node:write for node checks). */
      token?: string;
    } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.onResult = opts.onResult ?? (() => undefined);
    this.scheme = opts.tls ? 'https' : 'http';
    this.token = opts.token;
    this.agent = new Agent({
      connections: 16,
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      ...(opts.tls ? { connect: { ...opts.tls } } : {}),
    });
  }

  /** Resolves once the owner applied it; rejects with the owner's own error, or BEACON_ERR_PEER_UNAVAILABLE. */
  async send(peerHttp: string, update: ForwardedTtl, from: string): Promise<void> {
    let res;
    try {
      res = await request(`${this.scheme}://${peerHttp}${FORWARDED_TTL_ROUTE}`, {
        method: 'PUT',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', 'x-beacon-forwarded-by': from, ...(this.token ? { 'x-consul-token': this.token } : {}) },
        body: JSON.stringify(update),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new BeaconError(
        'BEACON_ERR_PEER_UNAVAILABLE',
        `the server that owns check ${JSON.stringify(update.CheckID)} (${peerHttp}) did not answer: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const text = await res.body.text();
    this.onResult(res.statusCode === 200 ? 'ok' : 'refused');
    if (res.statusCode === 200) return;
    const code = String(res.headers['x-beacon-error'] ?? '');
    if (code in ERRORS) throw new BeaconError(code as ErrorCode, parseMessage(text));
    throw new BeaconError(
      'BEACON_ERR_PEER_UNAVAILABLE',
      `the server that owns check ${JSON.stringify(update.CheckID)} (${peerHttp}) answered ${res.statusCode}: ${text.slice(0, 200)}`,
    );
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function parseMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch {
    // plain text
  }
  return text.trim();
}
