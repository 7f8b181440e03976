import type { FastifyInstance } from 'fastify';
import type { Logger } from '../config/index.js';

/** One agent's interest in a read: the connection's id for it and the index the agent has. */
export interface WatchSub {
  readonly id: number;
  index: number;
  send(frame: string): void;
}

/** How long one upstream evaluation blocks before it is asked again (its result is unchanged then). */
const HUB_WAIT = '60s';
/** Delay before evaluating a read again after it failed (jittered). */
const retryMs = (): number => 1000 + Math.random() * 1000;

/**
 * One read shape (path + normalized query) watched by any number of agents: evaluated once per
 * index through the app's own route (a blocking query, so the route's response cache and
 * encoding are used), and the answer encoded once into the tail of a `data` frame that every
 * subscriber's frame shares. Runs while it has subscribers.
 */
class Hub {
  readonly subs = new Set<WatchSub>();
  private index = 0;
  /** `,"index":…,"body":…}`: the frame after its id, built once per answer. */
  private tail: string | undefined;
  private running = false;

  constructor(
    readonly path: string,
    private readonly app: FastifyInstance,
    private readonly signal: AbortSignal,
    private readonly logger: Logger,
    private readonly onIdle: (hub: Hub) => void,
  ) {}

  add(sub: WatchSub): void {
    this.subs.add(sub);
    if (this.tail !== undefined && sub.index !== this.index) this.deliver(sub);
    if (!this.running) void this.run();
  }

  remove(sub: WatchSub): void {
    this.subs.delete(sub);
  }

  private deliver(sub: WatchSub): void {
    sub.index = this.index;
    sub.send(`{"op":"data","id":${sub.id}${this.tail!}`);
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.subs.size > 0 && !this.signal.aborted) {
        const sep = this.path.includes('?') ? '&' : '?';
        const url = this.index > 0 ? `${this.path}${sep}index=${this.index}&wait=${HUB_WAIT}` : this.path;
        let res;
        try {
          res = await this.app.inject({ method: 'GET', url, headers: { host: 'agent-stream' } });
        } catch (err) {
          this.logger.warn({ err, path: this.path }, 'agent stream: evaluating a watched read failed');
          await new Promise((r) => setTimeout(r, retryMs()));
          continue;
        }
        const index = Number(res.headers['x-consul-index'] ?? 0) || 0;
        const knownLeader = res.headers['x-consul-knownleader'] !== 'false';
        const lastContact = Number(res.headers['x-consul-lastcontact'] ?? 0) || 0;
        const ok = res.statusCode === 200 && String(res.headers['content-type'] ?? '').startsWith('application/json');
        const body = ok ? res.body || 'null' : JSON.stringify(res.body);
        if (this.tail === undefined || index !== this.index || !ok) {
          this.index = index;
          this.tail = `,"index":${index},"status":${res.statusCode},"knownLeader":${knownLeader},"lastContact":${lastContact},"body":${body}}`;
          for (const s of this.subs) if (s.index !== index || !ok) this.deliver(s);
        }
        // A read that failed (a bad query) is answered once and asked again only slowly.
        if (!ok) await new Promise((r) => setTimeout(r, retryMs() * 5));
      }
    } finally {
      this.running = false;
      if (this.subs.size === 0) this.onIdle(this);
      else if (!this.signal.aborted) void this.run();
    }
  }
}

/**
 * Every read shape watched by the agents connected to this server, each evaluated once per index
 * however many agents watch it.
 */
export class WatchHubs {
  private readonly hubs = new Map<string, Hub>();

  constructor(
    private readonly app: FastifyInstance,
    private readonly signal: AbortSignal,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.hubs.size;
  }

  subscribe(path: string, sub: WatchSub): () => void {
    let hub = this.hubs.get(path);
    if (!hub) {
      hub = new Hub(path, this.app, this.signal, this.logger, (h) => {
        if (h.subs.size === 0 && this.hubs.get(h.path) === h) this.hubs.delete(h.path);
      });
      this.hubs.set(path, hub);
    }
    const h = hub;
    h.add(sub);
    return () => h.remove(sub);
  }
}
