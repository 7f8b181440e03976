/**
 * Node sessions over the store (docs/architecture.md, liveness): a node holds one store lease with the key
 * `beacon/sessions/<node>` attached. While the key lives the node is up; when the lease lapses
 * or is revoked the key goes and every watcher sees the node down. One lease per node, never
 * one per check. This file is the only place that knows the session keys; the health
 * subsystem decides what a node going up or down means (its `serfHealth`).
 */
import { isBeaconError } from '../errors/index.js';
import { NO_LEASE, type KeyValue, type LeaseId, type Store, type WatchBatch } from '../store/index.js';
import { PrefixFollow } from './prefix-follow.js';

/** Store prefix of node sessions: `beacon/sessions/<node>`, each attached to its node's lease. */
export const SESSION_PREFIX = 'beacon/sessions/';

/** The session key of a node (segment URI-encoded, as the catalog's keys). */
export const sessionKey = (node: string): string => SESSION_PREFIX + encodeURIComponent(node);

/** Identifies one session of a node: the store lease it holds. Opaque to callers. */
export type SessionId = LeaseId;

/** A node's session key written (up) or gone (down), as the watch delivered it. */
export interface SessionChange {
  node: string;
  up: boolean;
  /**
   * The session the key was attached to: for an up the new one, for a down the one that held
   * it (undefined when the store did not say).
   */
  session: SessionId | undefined;
}

/** Follows every node's session. */
export interface SessionFollower {
  /** Sessions that came or went in one store revision, in order. */
  changed(changes: readonly SessionChange[]): void;
  /**
   * The watch broke and was set up again from a fresh list: `live` is every node holding a
   * session now (node -> session). A node missing from it may have gone meanwhile.
   */
  reloaded(live: ReadonlyMap<string, SessionId>): void;
  /** The watch (or a re-list) failed for a reason other than compaction; it is retried. */
  broken?(err: Error): void;
}

/** A running watch of the sessions. */
export interface SessionFollow {
  /** Every node holding a session at the revision the watch started from. */
  readonly initial: ReadonlyMap<string, SessionId>;
  cancel(): void;
}

const sessionValue = (node: string, lease: LeaseId): string => JSON.stringify({ Node: node, Lease: lease, Since: new Date().toISOString() });

const nodeOf = (key: string): string => decodeURIComponent(key.slice(SESSION_PREFIX.length));

function liveSessions(kvs: readonly KeyValue[]): Map<string, SessionId> {
  const out = new Map<string, SessionId>();
  for (const kv of kvs) if (kv.key.startsWith(SESSION_PREFIX)) out.set(nodeOf(kv.key), kv.lease);
  return out;
}

/** One session this process holds for a node. */
export class StoreSession {
  constructor(
    private readonly store: Store,
    readonly node: string,
    readonly id: SessionId,
  ) {}

  /** Refreshes the lease once. Resolves false when the session is gone (lapsed or revoked). */
  async keepAlive(): Promise<boolean> {
    try {
      await this.store.keepAlive(this.id);
      return true;
    } catch (err) {
      if (isBeaconError(err, 'BEACON_ERR_LEASE_NOT_FOUND')) return false;
      throw err;
    }
  }

  /**
   * Puts the node's session key back on this session when no key is there (the late end of an
   * older session removed it). Resolves false when this session is gone.
   */
  async restore(): Promise<boolean> {
    const key = sessionKey(this.node);
    try {
      await this.store.txn(
        [{ key, target: 'createRevision', op: '==', value: 0 }],
        [{ type: 'put', key, value: sessionValue(this.node, this.id), lease: this.id }],
      );
      return true;
    } catch (err) {
      if (isBeaconError(err, 'BEACON_ERR_LEASE_NOT_FOUND')) return false;
      throw err;
    }
  }

  /**
   * Ends the session. With `revoke` at once: the key goes and watchers see the node down (a
   * clean leave); without, nothing is written and the lease lapses after its TTL.
   */
  async end(opts: { revoke?: boolean } = {}): Promise<void> {
    if (opts.revoke) await this.store.revoke(this.id);
  }
}

/**
 * Sessions of the catalog's nodes, over the store.
 *
 * @example
 * const sessions = new CatalogSessions(store);
 * const session = await sessions.open('node-1', 10);
 * setInterval(() => void session.keepAlive(), 3000);
 * const watch = await sessions.watch({ changed: (cs) => console.log(cs), reloaded: () => undefined });
 */
export class CatalogSessions {
  constructor(private readonly store: Store) {}

  /**
   * Opens a session for `node` that lapses `ttlSeconds` after its last keep-alive, and attaches
   * the node's session key to it. A session the node still holds (one left by an earlier run of
   * the same node) is ended first, so its late expiry cannot take the new key with it.
   */
  async open(node: string, ttlSeconds: number): Promise<StoreSession> {
    const key = sessionKey(node);
    const old = await this.store.get(key);
    if (old && old.lease !== NO_LEASE) await this.store.revoke(old.lease);
    const lease = await this.store.grant(ttlSeconds);
    try {
      await this.store.put(key, sessionValue(node, lease), { lease });
    } catch (err) {
      await this.store.revoke(lease).catch(() => undefined);
      throw err;
    }
    return new StoreSession(this.store, node, lease);
  }

  /** Lists the sessions, then follows them from the next revision; a broken watch re-lists. */
  async watch(follower: SessionFollower): Promise<SessionFollow> {
    const w = new SessionWatch(this.store, follower);
    await w.start();
    return w;
  }
}

class SessionWatch implements SessionFollow {
  initial: ReadonlyMap<string, SessionId> = new Map();
  private readonly follow: PrefixFollow;

  constructor(
    store: Store,
    private readonly follower: SessionFollower,
  ) {
    this.follow = new PrefixFollow(store, SESSION_PREFIX, {
      listed: (kvs, _revision, initial) => {
        if (initial) this.initial = liveSessions(kvs);
        else this.follower.reloaded(liveSessions(kvs));
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
    const changes: SessionChange[] = [];
    for (const ev of b.events) {
      if (!ev.kv.key.startsWith(SESSION_PREFIX)) continue;
      const node = nodeOf(ev.kv.key);
      if (ev.type === 'put') changes.push({ node, up: true, session: ev.kv.lease });
      else changes.push({ node, up: false, session: ev.prevKv?.lease });
    }
    if (changes.length > 0) this.follower.changed(changes);
  }
}
