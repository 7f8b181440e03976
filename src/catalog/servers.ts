/**
 * The server group's membership over the store (cluster mode): each live server keeps the key
 * `beacon/servers/<node>` attached to its session's lease, holding how to reach it. While the
 * key lives the server is a member; when its lease lapses or is revoked the key goes in the
 * same revision as its session key, and every server sees it leave. Nothing else is configured:
 * servers find each other here.
 *
 * A member's key's create revision is its *fence*: a write guarded by it succeeds only while
 * this very membership lasts. A server that lost its session (paused, cut off) and joined again
 * has a new create revision, so nothing it decided under the old one can land.
 */
import { BeaconError, isBeaconError } from '../errors/index.js';
import type { KeyValue, LeaseId, Store, WatchBatch, WatchHandle } from '../store/index.js';

/** Store prefix of the server group's members. */
export const SERVER_PREFIX = 'beacon/servers/';

export const serverKey = (node: string): string => SERVER_PREFIX + encodeURIComponent(node);

/** How to reach one server, as it published it when it joined. */
export interface ServerInfo {
  /** Its node name (unique in the datacenter). */
  Node: string;
  /** Its advertise address (an IP or host name). */
  Addr: string;
  /** Its HTTP API, host:port. */
  Http: string;
  /** Its DNS interface, host:port ('' when off). */
  Dns: string;
  Datacenter: string;
  Version: string;
  /** When it joined, ISO 8601. */
  Since: string;
}

/** A live member: what it published, and the revision its membership began at (its fence). */
export interface ServerMember {
  info: ServerInfo;
  /** Create revision of its member key: unique per membership, ordered by join. */
  createRevision: number;
  lease: LeaseId;
}

/**
 * Guards a write on a membership: it lands only while the member key still has this create
 * revision. Opaque outside the catalog.
 */
export interface Fence {
  readonly key: string;
  readonly createRevision: number;
}

export const fenceOf = (m: Pick<ServerMember, 'info' | 'createRevision'>): Fence => ({ key: serverKey(m.info.Node), createRevision: m.createRevision });

function parseMember(kv: KeyValue): ServerMember | undefined {
  try {
    const info = JSON.parse(kv.value) as ServerInfo;
    if (typeof info?.Node !== 'string' || typeof info.Http !== 'string') return undefined;
    return { info, createRevision: kv.createRevision, lease: kv.lease };
  } catch {
    return undefined;
  }
}

function membersOf(kvs: readonly KeyValue[]): Map<string, ServerMember> {
  const out = new Map<string, ServerMember>();
  for (const kv of kvs) {
    const m = parseMember(kv);
    if (m) out.set(m.info.Node, m);
  }
  return out;
}

/** Follows the members. */
export interface MemberFollower {
  /** The members after a change (every live member, by node). */
  changed(members: ReadonlyMap<string, ServerMember>, revision: number): void;
  /** The watch failed for a reason worth logging; it is set up again from a fresh list. */
  broken?(err: Error): void;
}

export interface MemberFollow {
  readonly initial: ReadonlyMap<string, ServerMember>;
  cancel(): void;
}

/**
 * The server group's membership keys.
 *
 * @example
 * const registry = new ServerRegistry(store);
 * const me = await registry.join(info, session.id);
 * const follow = await registry.watch({ changed: (members) => console.log([...members.keys()]) });
 */
export class ServerRegistry {
  constructor(private readonly store: Store) {}

  /**
   * Publishes `info` under `lease` (the server's session). A key left by an earlier membership
   * of the same node is replaced. Resolves with the new membership.
   */
  async join(info: ServerInfo, lease: LeaseId): Promise<ServerMember> {
    const key = serverKey(info.Node);
    // A key left by an older membership goes first, so this membership's create revision is new.
    const old = await this.store.get(key);
    if (old) await this.store.delete(key);
    await this.store.put(key, JSON.stringify(info), { lease });
    const kv = await this.store.get(key);
    if (!kv || kv.lease !== lease) {
      // The lease lapsed between the two calls, or a newer join of this node won.
      throw new BeaconError('BEACON_ERR_NOT_OWNER', `joining the server group as ${JSON.stringify(info.Node)} did not hold: its session ended meanwhile`);
    }
    return { info, createRevision: kv.createRevision, lease };
  }

  /** Whether `fence` still holds (its member key has the same create revision). */
  async holds(fence: Fence): Promise<boolean> {
    const kv = await this.store.get(fence.key);
    return kv !== undefined && kv.createRevision === fence.createRevision;
  }

  /** Removes this membership now (a clean leave); the lease is the session's to end. */
  async leave(m: ServerMember): Promise<void> {
    const key = serverKey(m.info.Node);
    await this.store.txn([{ key, target: 'createRevision', op: '==', value: m.createRevision }], [{ type: 'delete', key }]);
  }

  /** Every live member now. */
  async list(): Promise<Map<string, ServerMember>> {
    return membersOf((await this.store.range(SERVER_PREFIX)).kvs);
  }

  /** Lists the members, then follows them; a broken watch re-lists. */
  async watch(follower: MemberFollower): Promise<MemberFollow> {
    const w = new MemberWatch(this.store, follower);
    await w.start();
    return w;
  }
}

class MemberWatch implements MemberFollow {
  initial: ReadonlyMap<string, ServerMember> = new Map();
  private members = new Map<string, ServerMember>();
  private handle: WatchHandle | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly follower: MemberFollower,
  ) {}

  async start(): Promise<void> {
    const { kvs, revision } = await this.store.range(SERVER_PREFIX);
    this.members = membersOf(kvs);
    this.initial = new Map(this.members);
    this.follow(revision + 1);
  }

  cancel(): void {
    this.stopped = true;
    this.handle?.cancel();
  }

  private follow(fromRevision: number): void {
    if (this.stopped) return;
    this.handle = this.store.watch({
      prefix: SERVER_PREFIX,
      fromRevision,
      onBatch: (b) => this.deliver(b),
      onError: (err) => {
        if (this.stopped) return;
        const compacted = isBeaconError(err, 'BEACON_ERR_COMPACTED');
        if (!compacted) this.follower.broken?.(err);
        setTimeout(() => void this.relist(), compacted ? 0 : 200 + Math.random() * 300).unref();
      },
    });
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const { kvs, revision } = await this.store.range(SERVER_PREFIX);
      if (this.stopped) return;
      this.members = membersOf(kvs);
      this.follow(revision + 1);
      this.follower.changed(new Map(this.members), revision);
    } catch (err) {
      if (this.stopped) return;
      this.follower.broken?.(err as Error);
      setTimeout(() => void this.relist(), 500 + Math.random() * 500).unref();
    }
  }

  private deliver(b: WatchBatch): void {
    if (this.stopped) return;
    let changed = false;
    for (const ev of b.events) {
      if (!ev.kv.key.startsWith(SERVER_PREFIX)) continue;
      if (ev.type === 'put') {
        const m = parseMember(ev.kv);
        if (m) {
          this.members.set(m.info.Node, m);
          changed = true;
        }
      } else {
        const node = decodeURIComponent(ev.kv.key.slice(SERVER_PREFIX.length));
        changed = this.members.delete(node) || changed;
      }
    }
    if (changed) this.follower.changed(new Map(this.members), b.revision);
  }
}
