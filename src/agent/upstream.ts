import { WebSocket } from 'ws';
import { AGENT_PROTOCOL_VERSION, AGENT_STREAM_PATH, type AgentMessage, type AgentNodeInfo } from '../api/http/index.js';
import type { Logger } from '../config/index.js';
import { BeaconError } from '../errors/index.js';

/** A `data` frame as the agent reads it: the body stays the server's JSON text, never re-encoded. */
export interface DataFrame {
  id: number;
  index: number;
  status: number;
  knownLeader: boolean;
  lastContact: number;
  body: string;
}

const DATA = /^\{"op":"data","id":(\d+),"index":(\d+),"status":(\d+),"knownLeader":(true|false),"lastContact":(\d+),"body":/;

/** Reads a data frame without parsing its body (the bytes are served as they came). */
export function parseDataFrame(text: string): DataFrame | undefined {
  const m = DATA.exec(text);
  if (!m || !text.endsWith('}')) return undefined;
  return {
    id: Number(m[1]),
    index: Number(m[2]),
    status: Number(m[3]),
    knownLeader: m[4] === 'true',
    lastContact: Number(m[5]),
    body: text.slice(m[0].length, -1),
  };
}

export interface UpstreamOptions {
  servers: readonly string[];
  /** ACL token presented to the servers (`--acl-agent-token`): needs node write on this agent's node, service write on its services. */
  token?: string;
  /** TLS towards https:// servers: CA, and a client certificate and key. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  node: () => AgentNodeInfo;
  sessionTtlSeconds: number;
  logger: Logger;
  /** Back-off bounds between connection attempts (jittered, doubling). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface UpstreamEvents {
  /** Connected and greeted (again): re-subscribe and sync. */
  up(server: string): void;
  down(): void;
  data(frame: DataFrame): void;
  watchError(id: number, code: string, message: string): void;
}

type Write = Extract<AgentMessage, { op: 'sync' | 'status' | 'leave' }>;
type WriteBody = Write extends infer W ? (W extends { seq: number } ? Omit<W, 'seq'> : never) : never;

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The agent's one connection to the servers: a WebSocket to the first `--server` that answers,
 * failing over to the others with jittered, doubling back-off. Carries the hello (the node's
 * session), the watches and the writes (sync, status, leave) with their acknowledgements.
 */
export class Upstream {
  private ws: WebSocket | undefined;
  private greeted = false;
  private stopped = false;
  private attempt = 0;
  private next = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<number, { resolve(writes: number): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
  /** When a server last answered anything (ms since epoch); 0: never. */
  lastContact = 0;
  /** The server connected to now. */
  server: string | undefined;
  /** Failed connection attempts since the last success. */
  get failures(): number {
    return this.attempt;
  }

  constructor(
    private readonly opts: UpstreamOptions,
    private readonly events: UpstreamEvents,
  ) {}

  get connected(): boolean {
    return this.greeted;
  }

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const base = this.opts.servers[this.next % this.opts.servers.length];
    this.next++;
    const url = base.replace(/^http/, 'ws') + AGENT_STREAM_PATH;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: 256 << 20,
      handshakeTimeout: 5000,
      ...(this.opts.token ? { headers: { 'x-consul-token': this.opts.token } } : {}),
      ...this.opts.tls,
    });
    this.ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      ws.send(JSON.stringify({ op: 'hello', v: AGENT_PROTOCOL_VERSION, node: this.opts.node(), ttl: this.opts.sessionTtlSeconds }));
    });
    ws.on('message', (data: Buffer) => {
      this.lastContact = Date.now();
      const text = data.toString();
      const frame = parseDataFrame(text);
      if (frame) return this.events.data(frame);
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (m.op === 'welcome') {
        this.greeted = true;
        this.attempt = 0;
        this.server = base;
        this.opts.logger.info({ server: base }, 'agent: connected to a server');
        this.events.up(base);
      } else if (m.op === 'ack') {
        this.settle(Number(m.seq), undefined, Number(m.writes) || 0);
      } else if (m.op === 'error') {
        const err = new BeaconError('BEACON_ERR_AGENT_PROTOCOL', String(m.message));
        if (typeof m.seq === 'number') this.settle(m.seq, err, 0);
        else if (typeof m.id === 'number') this.events.watchError(m.id, String(m.code), String(m.message));
        else {
          this.opts.logger.error({ server: base, code: m.code, message: m.message }, 'agent: the server refused a message');
          // Refused before the welcome (the hello: a server's node name, another protocol
          // version): this connection is of no use; try again (and the other servers) later.
          if (!this.greeted) ws.close(1008, 'hello refused');
        }
      }
    });
    ws.on('error', (err) => {
      if (!opened) this.opts.logger.debug({ err, server: base }, 'agent: connecting to a server failed');
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      const was = this.greeted;
      this.greeted = false;
      this.server = undefined;
      for (const [seq] of this.pending) this.settle(seq, new BeaconError('BEACON_ERR_NO_SERVER', 'the connection to the server dropped'), 0);
      if (was) {
        this.opts.logger.warn({ server: base }, 'agent: lost the connection to the server; answering from the cache');
        this.events.down();
      }
      this.retry();
    });
  }

  private retry(): void {
    if (this.stopped) return;
    const min = this.opts.minBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 5000;
    // The first failure after a loss tries the next server at once; after a round, back off.
    const round = Math.floor(this.attempt / this.opts.servers.length);
    this.attempt++;
    const base = round === 0 ? min : Math.min(max, min * 2 ** round);
    const ms = base / 2 + Math.random() * (base / 2);
    this.timer = setTimeout(() => this.connect(), ms);
    this.timer.unref();
  }

  private settle(seq: number, err: Error | undefined, writes: number): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(writes);
  }

  /** Sends a watch or unwatch (dropped while disconnected: every watch is sent again on `up`). */
  send(m: Extract<AgentMessage, { op: 'watch' | 'unwatch' }>): void {
    if (this.greeted && this.ws) this.ws.send(JSON.stringify(m));
  }

  /** Sends a write; resolves with the writes it made once the server acknowledged it. */
  request(m: WriteBody): Promise<number> {
    const ws = this.ws;
    if (!this.greeted || !ws) return Promise.reject(new BeaconError('BEACON_ERR_NO_SERVER', 'no server is reachable'));
    const seq = ++this.seq;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(seq, new BeaconError('BEACON_ERR_NO_SERVER', 'the server did not answer in time'), 0), REQUEST_TIMEOUT_MS);
      timer.unref();
      this.pending.set(seq, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...m, seq }));
    });
  }

  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    if (opts.leave && this.greeted) await this.request({ op: 'leave' }).catch(() => undefined);
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000, 'agent stopping');
    this.ws = undefined;
  }
}
