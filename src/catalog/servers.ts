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
import { BeaconError } from '../errors/index.js';
import type { KeyValue, LeaseId, Store, WatchBatch } from '../store/index.js';
import { PrefixFollow } from './prefix-follow.js';

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
  private readonly follow: PrefixFollow;

  constructor(
    store: Store,
    private readonly follower: MemberFollower,
  ) {
    this.follow = new PrefixFollow(store, SERVER_PREFIX, {
      listed: (kvs, revision, initial) => {
        this.members = membersOf(kvs);
        if (initial) this.initial = new Map(this.members);
        else this.follower.changed(new Map(this.members), revision);
      },
      batch: (b) => this.deliver(b),
      broken: (err) => this.follower.broken?.(err),
    });
  }

  start(): Promise<void> {
    return this.follow.start();
  }

  cancel(): void {
    this.follow.cancel();
  }

  private deliver(b: WatchBatch): void {
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
