import { CheckWriter, type CheckWriterDeps } from './check-writer.js';
import type { CheckResult, CheckSource, HealthLogger, Session, SessionEvent, SessionId, Sessions, SessionWatch, StatusSink } from './types.js';

export const SERF_CHECK_ID = 'serfHealth';
export const ALIVE_OUTPUT = 'Agent alive and reachable';
export const DEAD_OUTPUT = 'Agent not live or unreachable';

const ALIVE: CheckResult = { status: 'passing', output: ALIVE_OUTPUT };
const DEAD: CheckResult = { status: 'critical', output: DEAD_OUTPUT };

export interface LivenessOptions {
  sessions: Sessions;
  source: Pick<CheckSource, 'check' | 'checksInState'>;
  sink: Pick<StatusSink, 'setCheckStatus'>;
  logger: HealthLogger;
  /** This process's node, whose session it holds. */
  node: string;
  ttlSeconds: number;
  /** Whether this process keeps the serfHealth check of `node` (its own, or one it owns in cluster mode). */
  ownsNode(node: string): boolean;
  writer: Pick<CheckWriterDeps, 'outputUpdateIntervalMs' | 'onWrite'>;
  onSession?(up: boolean): void;
}

/** Jittered delay before trying a failed keep-alive or session open again. */
const retryMs = (): number => 500 + Math.random() * 500;

/**
 * Node liveness (docs/architecture.md): this process holds one session for its node, kept alive with
 * jitter every third of its TTL. While a node's session lives its `serfHealth` check is
 * passing; when the session goes (its lease lapsed) the check turns critical, which takes every
 * service of the node out of passing results. When its own session is lost this process opens
 * a new one and comes back. The sessions themselves (leases, keys, the watch) are behind
 * {@link Sessions}; this class only decides which serfHealth to flip.
 */
export class NodeLiveness {
  private session: Session | undefined;
  private watch: SessionWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private recovering: Promise<void> | undefined;
  private readonly writers = new Map<string, CheckWriter>();
  /** Other nodes (kept here) last seen with a session, so a re-list can tell which went meanwhile. */
  private readonly live = new Set<string>();
  /** Every node holding a session, as last seen (kept here or not), for a change of ownership. */
  private readonly sessionHolders = new Set<string>();

  constructor(private readonly opts: LivenessOptions) {}

  /** The session this process holds now (undefined before start, or while it opens a new one). */
  get currentSession(): SessionId | undefined {
    return this.session?.id;
  }

  async start(): Promise<void> {
    const { sessions, node, ttlSeconds, logger } = this.opts;
    this.session = await sessions.open(node, ttlSeconds);
    this.opts.onSession?.(true);
    const watch = await sessions.watch({
      changed: (events) => this.onEvents(events),
      reloaded: (live) => this.onReload(live),
      broken: (err) => logger.warn({ err }, 'session watch failed; listing the sessions again'),
    });
    if (this.stopped) {
      watch.cancel();
      return;
    }
    this.watch = watch;
    this.onReload(watch.initial);
    this.scheduleKeepAlive(this.refreshMs());
  }

  /** Stops keeping the session; with `revoke` it ends at once (clean leave), else it lapses after its TTL. */
  async stop(opts: { revoke?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.cancel();
    for (const w of this.writers.values()) w.close();
    this.writers.clear();
    if (opts.revoke) await this.session?.end({ revoke: true }).catch(() => undefined);
  }

  private refreshMs(): number {
    return ((this.opts.ttlSeconds * 1000) / 3) * (0.8 + Math.random() * 0.4);
  }

  private scheduleKeepAlive(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.keepAlive(), ms);
    this.timer.unref();
  }

  private async keepAlive(): Promise<void> {
    const s = this.session;
    if (this.stopped || !s) return;
    try {
      const held = await s.keepAlive();
      // A newer session took over meanwhile: it keeps itself alive.
      if (this.stopped || s !== this.session) return;
      if (held) this.scheduleKeepAlive(this.refreshMs());
      else this.lapsed();
    } catch (err) {
      if (this.stopped || s !== this.session) return;
      this.opts.logger.warn({ err }, 'session keep-alive failed; retrying');
      this.scheduleKeepAlive(retryMs());
    }
  }

  /** Our session is gone: the node is critical until a new one is up. */
  private lapsed(): void {
    if (this.stopped || this.recovering) return;
    this.opts.logger.warn({ node: this.opts.node, session: this.session?.id }, 'session lapsed; opening a new one');
    this.opts.onSession?.(false);
    this.setSerf(this.opts.node, false);
    clearTimeout(this.timer);
    this.reopen();
  }

  private reopen(): void {
    const { sessions, node, ttlSeconds, logger } = this.opts;
    const old = this.session;
    this.recovering = (async () => {
      try {
        // Best effort: a session whose key was removed by hand still holds its lease.
        await old?.end({ revoke: true }).catch(() => undefined);
        const s = await sessions.open(node, ttlSeconds);
        if (this.stopped) return;
        this.session = s;
        this.opts.onSession?.(true);
        this.scheduleKeepAlive(this.refreshMs());
      } catch (err) {
        if (this.stopped) return;
        logger.warn({ err }, 'opening a new session failed; retrying');
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.reopen(), retryMs());
        this.timer.unref();
      } finally {
        this.recovering = undefined;
      }
    })();
  }

  /**
   * Which nodes this process keeps changed (cluster mode: the server group changed): takes up
   * the serfHealth of every node it keeps now, set from whether the node holds a session, and
   * lets go of the ones it no longer keeps.
   */
  ownershipChanged(): void {
    if (this.stopped) return;
    const own = this.opts.node;
    for (const [node, w] of [...this.writers]) {
      if (node === own || this.opts.ownsNode(node)) continue;
      w.close();
      this.writers.delete(node);
      this.live.delete(node);
    }
    for (const c of this.opts.source.checksInState('any').value) {
      const node = c.record.Node;
      if (c.record.CheckID !== SERF_CHECK_ID || node === own || !this.opts.ownsNode(node)) continue;
      const up = this.sessionHolders.has(node);
      if (up) this.live.add(node);
      else this.live.delete(node);
      this.setSerf(node, up);
    }
  }

  private onEvents(events: readonly SessionEvent[]): void {
    const own = this.opts.node;
    for (const ev of events) {
      if (ev.up) this.sessionHolders.add(ev.node);
      else this.sessionHolders.delete(ev.node);
      if (ev.node !== own) {
        if (!this.opts.ownsNode(ev.node)) continue;
        if (ev.up) this.live.add(ev.node);
        else this.live.delete(ev.node);
        this.setSerf(ev.node, ev.up);
      } else if (ev.up) {
        this.setSerf(own, true);
      } else if (ev.session !== undefined && ev.session !== this.session?.id) {
        // The mark of an older session of ours went (it ended late): ours stands.
        void this.restore();
      } else {
        this.lapsed();
      }
    }
  }

  /** A fresh list of every live session (the watch's start, or a re-list after it broke). */
  private onReload(live: ReadonlyMap<string, SessionId>): void {
    const own = this.opts.node;
    this.sessionHolders.clear();
    for (const n of live.keys()) this.sessionHolders.add(n);
    for (const n of live.keys()) {
      if (n === own || !this.opts.ownsNode(n)) continue;
      this.live.add(n);
      this.setSerf(n, true);
    }
    for (const n of [...this.live]) {
      if (live.has(n)) continue;
      this.live.delete(n);
      this.setSerf(n, false);
    }
    if (live.has(own)) this.setSerf(own, true);
    else if (!this.recovering) this.lapsed();
  }

  /** Puts this node's session mark back on the current session if it is missing. */
  private async restore(): Promise<void> {
    const s = this.session;
    if (this.recovering || !s) return;
    try {
      if (!(await s.restore()) && s === this.session) this.lapsed();
    } catch (err) {
      this.opts.logger.warn({ err }, 'restoring the session mark failed');
    }
  }

  private setSerf(node: string, alive: boolean): void {
    if (this.stopped) return;
    const cur = this.opts.source.check(node, SERF_CHECK_ID);
    let w = this.writers.get(node);
    if (!cur) {
      // The node (or its serfHealth) is gone: nothing to keep for it.
      w?.close();
      this.writers.delete(node);
      return;
    }
    const want = alive ? ALIVE : DEAD;
    if (!w) {
      if (cur.record.Status === want.status && cur.record.Output === want.output) return;
      w = new CheckWriter({ ...this.opts.writer, source: this.opts.source, sink: this.opts.sink, logger: this.opts.logger }, node, SERF_CHECK_ID);
      this.writers.set(node, w);
    }
    w.set(want).catch((err: unknown) => this.opts.logger.warn({ err, node }, 'writing serfHealth failed'));
  }
}
