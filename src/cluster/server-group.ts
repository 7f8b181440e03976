import { fenceOf, type Fence, type MemberFollow, type ServerInfo, type ServerMember, type ServerRegistry } from '../catalog/index.js';
import type { Logger } from '../config/index.js';
import { type Session, type SessionListener, type Sessions, type SessionWatch } from '../health/index.js';
import { rendezvousOwner } from './rendezvous.js';

/** What a server publishes about itself, but its addresses (known once it listens). */
export type ServerIdentity = Omit<ServerInfo, 'Http' | 'Dns' | 'Since'>;

export interface ServerGroupOptions {
  registry: Pick<ServerRegistry, 'join' | 'leave' | 'watch'>;
  /** Who this server is (its node name is its member name). */
  identity: ServerIdentity;
  logger: Logger;
}

type Listener = () => void;

/**
 * This server's view of the server group (cluster mode). Membership rides on the server's
 * session: {@link ServerGroup.sessions} wraps the health subsystem's sessions so that each
 * session this server opens also carries its member key, and a lapsed session takes the
 * membership with it. From the live members it answers:
 * - the coordinator (leader): the member that joined first (lowest create revision), as in
 *   etcd's election recipe; it changes only when that member leaves;
 * - who owns a check: rendezvous hashing of node and check ID over the live members; a live
 *   server's own node is its own; while this server is not a member it owns nothing but its
 *   own node;
 * - the fence its writes carry, so a write decided under a membership that has ended fails.
 *
 * @example
 * const group = new ServerGroup({ registry: new ServerRegistry(store), identity, logger });
 * const health = createHealth({ ..., sessions: group.sessions(new CatalogSessions(store)), options: { owns: (n, c) => group.owns(n, c) } });
 * group.onChange(() => health.ownershipChanged());
 * await group.start();
 * await health.start();
 * await group.publish({ http: '10.0.0.1:8500', dns: '10.0.0.1:8600' }); // once listening
 */
export class ServerGroup {
  private live = new Map<string, ServerMember>();
  private sorted: ServerMember[] = [];
  /** The members checks are shared among: the live ones, without this server while it is cut off. */
  private owners: string[] = [];
  /** This server has not reached the store for longer than its session TTL (see storeContact). */
  private cutOff = false;
  private mine: ServerMember | undefined;
  private follow: MemberFollow | undefined;
  private readonly listeners = new Set<Listener>();
  private revision = 0;
  private stopped = false;
  /** The session this server's node holds now (its membership rides on it). */
  private session: Session | undefined;
  /** Set by publish(): the server listens and may join. */
  private addrs: { Http: string; Dns: string } | undefined;

  constructor(private readonly opts: ServerGroupOptions) {}

  get name(): string {
    return this.opts.identity.Node;
  }

  /**
   * The server listens at these addresses: it joins the group (under its current session) and
   * starts taking its share of the checks. Until then it is not a member and owns nothing but
   * its own node, so no check is ever given to a server that cannot yet take a forwarded
   * heartbeat.
   */
  async publish(addrs: { http: string; dns: string }): Promise<void> {
    this.addrs = { Http: addrs.http, Dns: addrs.dns };
    if (this.session) await this.join(this.session);
  }

  /**
   * Whether this server still reaches the store. Cut off for longer than its session TTL, it
   * must take its session (and so its membership) as lapsed even before it can hear so: the
   * other servers have taken its checks. Until contact returns it owns nothing but its own
   * node, and counts as gone when it works out who owns a check, as the others do, so a
   * heartbeat that reaches it is forwarded to the server the others chose. Called by the
   * server as the store's health changes.
   */
  storeContact(reachable: boolean): void {
    if (this.stopped || reachable === !this.cutOff) return;
    this.cutOff = !reachable;
    if (this.cutOff)
      this.opts.logger.warn(
        { node: this.name },
        'no contact with the store for longer than the session TTL: this server hands its checks over until it is back',
      );
    else this.opts.logger.info({ node: this.name }, 'the store answers again; this server takes up its checks if its membership still holds');
    this.resort();
    this.emit();
  }

  /** Whether this server has been out of contact with the store for longer than its session TTL. */
  get isCutOff(): boolean {
    return this.cutOff;
  }

  /** Starts following the members (call before the first session opens). */
  async start(): Promise<void> {
    this.follow = await this.opts.registry.watch({
      changed: (members, revision) => this.update(members, revision),
      broken: (err) => this.opts.logger.warn({ err }, 'server group watch failed; listing the members again'),
    });
    this.update(this.follow.initial, 0);
  }

  stop(): void {
    this.stopped = true;
    this.follow?.cancel();
  }

  /** Live members in join order (the coordinator first). */
  members(): readonly ServerMember[] {
    return this.sorted;
  }

  /** The coordinator: the live member that joined first. */
  leader(): ServerMember | undefined {
    return this.sorted[0];
  }

  isLeader(): boolean {
    const l = this.leader();
    const me = this.self();
    return l !== undefined && me !== undefined && l.info.Node === this.name && l.createRevision === me.createRevision;
  }

  /** This server's membership while it lasts (its key is live with the revision it joined at). */
  self(): ServerMember | undefined {
    return this.cutOff ? undefined : this.mine;
  }

  /** The store revision of the last membership change seen (for blocking reads). */
  get index(): number {
    return this.revision;
  }

  /** Guards a write made for this membership; undefined while this server is not a member. */
  fence(): Fence | undefined {
    const m = this.self();
    return m ? fenceOf(m) : undefined;
  }

  /** The member that runs check `checkId` of `node` (undefined when none can). */
  ownerOf(node: string, checkId: string): ServerMember | undefined {
    const server = this.live.get(node);
    if (server && !(this.cutOff && node === this.name)) return server;
    const name = rendezvousOwner(`${node}\u0000${checkId}`, this.owners);
    return name === undefined ? undefined : this.live.get(name);
  }

  /**
   * Whether this server runs check `checkId` of `node`: its own node always (its serfHealth
   * follows its own session); a live server's node never; any other check when rendezvous
   * hashing over the live members picks this server and this server is a member.
   */
  owns(node: string, checkId: string): boolean {
    if (node === this.name) return true;
    if (!this.self() || this.live.has(node)) return false;
    return rendezvousOwner(`${node}\u0000${checkId}`, this.owners) === this.name;
  }

  /** Called after every change of the members or of this server's membership. Returns an unsubscribe. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The health subsystem's sessions with membership on top: opening a session joins the group
   * under its lease; restoring a session's mark re-joins when the member key went; ending one
   * leaves. The membership follows the session, so a session that lapsed is a membership that
   * ended.
   */
  sessions(inner: Sessions): Sessions {
    return {
      open: async (node, ttlSeconds) => {
        const s = await inner.open(node, ttlSeconds);
        if (node !== this.name) return s;
        this.session = s;
        if (this.addrs) await this.join(s);
        return this.wrap(s);
      },
      watch: (listener: SessionListener): Promise<SessionWatch> => inner.watch(listener),
    };
  }

  private wrap(s: Session): Session {
    return {
      id: s.id,
      keepAlive: () => s.keepAlive(),
      restore: async () => {
        if (!(await s.restore())) return false;
        if (this.addrs && (!this.mine || this.mine.lease !== s.id)) await this.join(s);
        return true;
      },
      end: async (o) => {
        const m = this.mine;
        if (o?.revoke && m && m.lease === s.id) {
          this.mine = undefined;
          this.emit();
        }
        await s.end(o);
      },
    };
  }

  private async join(s: Session): Promise<void> {
    const addrs = this.addrs;
    if (!addrs || this.stopped) return;
    const m = await this.opts.registry.join({ ...this.opts.identity, ...addrs, Since: new Date().toISOString() }, s.id);
    if (this.stopped || s !== this.session) return;
    this.mine = m;
    this.live.set(m.info.Node, m);
    this.resort();
    this.opts.logger.info({ node: this.name, members: this.sorted.length, leader: this.leader()?.info.Node }, 'joined the server group');
    this.emit();
  }

  private update(members: ReadonlyMap<string, ServerMember>, revision: number): void {
    if (this.stopped) return;
    this.live = new Map(members);
    if (revision > this.revision) this.revision = revision;
    const me = this.mine;
    if (me) {
      const seen = this.live.get(this.name);
      if (seen?.createRevision === me.createRevision || seen?.lease === me.lease) {
        this.mine = seen;
      } else if (seen === undefined && revision < me.createRevision) {
        // A list older than our join: our key is on its way.
        this.live.set(this.name, me);
      } else {
        this.opts.logger.warn({ node: this.name }, 'this server left the server group (its session ended); it runs no shared checks until it joins again');
        this.mine = undefined;
        // Another membership of this node's name (a newer run elsewhere) stays in the list.
      }
    }
    this.resort();
    this.emit();
  }

  private resort(): void {
    this.sorted = [...this.live.values()].sort((a, b) => a.createRevision - b.createRevision);
    this.owners = [...this.live.keys()].filter((n) => !(this.cutOff && n === this.name));
  }

  private emit(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.opts.logger.error({ err }, 'a server group listener failed');
      }
    }
  }
}
