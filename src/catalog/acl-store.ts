/**
 * ACL policies and tokens in the store, next to the catalog: `beacon/acl/policy/<id>`,
 * `beacon/acl/token/<accessor>` and `beacon/acl/bootstrap` (present once a bootstrap token was
 * made). Every server follows the prefix and holds all of them in memory, so a token is resolved
 * without a store read and a deleted token stops working on every server as soon as the delete
 * reaches it (on the server that deleted it, before the delete is answered).
 *
 * Token secrets are never stored: only their SHA-256. Writes are guarded transactions: a name
 * is unique among policies, a secret among tokens, a bootstrap happens once.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { BeaconError } from '../errors/index.js';
import type { KeyValue, Store, TxnOp, WatchBatch, Compare } from '../store/index.js';
import { PrefixFollow } from './prefix-follow.js';

export const ACL_PREFIX = 'beacon/acl/';
const POLICY_PREFIX = `${ACL_PREFIX}policy/`;
const TOKEN_PREFIX = `${ACL_PREFIX}token/`;
const BOOTSTRAP_KEY = `${ACL_PREFIX}bootstrap`;

/** Consul's built-in policy that allows everything. */
export const GLOBAL_MANAGEMENT_POLICY_ID = '00000000-0000-0000-0000-000000000001';
/** Consul's anonymous token: what a request without a token is. */
export const ANONYMOUS_TOKEN_ID = '00000000-0000-0000-0000-000000000002';

export interface AclPolicyRecord {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters: string[];
  CreateIndex: number;
  ModifyIndex: number;
}

/** The built-in policy granting everything (its rules are not evaluated: the ID is). */
export const GLOBAL_MANAGEMENT: AclPolicyRecord = Object.freeze({
  ID: GLOBAL_MANAGEMENT_POLICY_ID,
  Name: 'global-management',
  Description: 'Builtin Policy that grants unlimited access',
  Rules: '',
  Datacenters: [],
  CreateIndex: 1,
  ModifyIndex: 1,
});

export interface AclPolicyLink {
  ID: string;
  Name: string;
}

export interface AclTokenRecord {
  AccessorID: string;
  /** SHA-256 (hex) of the secret. */
  SecretHash: string;
  Description: string;
  Policies: AclPolicyLink[];
  Local: boolean;
  CreateTime: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Hashes a token secret as it is stored. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

function parse<T>(kv: KeyValue): T | undefined {
  try {
    return JSON.parse(kv.value) as T;
  } catch {
    return undefined;
  }
}

export class AclStore {
  private readonly policies = new Map<string, AclPolicyRecord>();
  private readonly tokens = new Map<string, AclTokenRecord>();
  private readonly bySecret = new Map<string, AclTokenRecord>();
  private bootstrapped = false;
  private revision = 0;
  private follow: PrefixFollow | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly waiters: { revision: number; resolve: () => void }[] = [];

  constructor(private readonly store: Store) {}

  async start(): Promise<void> {
    this.follow = new PrefixFollow(this.store, ACL_PREFIX, {
      listed: (kvs, revision) => this.load(kvs, revision),
      batch: (b) => this.apply(b),
    });
    await this.follow.start();
  }

  stop(): void {
    this.follow?.cancel();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Called after every change (listing or batch). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The store revision the ACL view reflects (X-Consul-Index of ACL reads). */
  get index(): number {
    return Math.max(1, this.revision);
  }

  /** Whether any token exists (before that, every request is anonymous). */
  get hasTokens(): boolean {
    return this.tokens.size > 0;
  }

  get isBootstrapped(): boolean {
    return this.bootstrapped;
  }

  policy(id: string): AclPolicyRecord | undefined {
    return id === GLOBAL_MANAGEMENT_POLICY_ID ? GLOBAL_MANAGEMENT : this.policies.get(id);
  }

  policyByName(name: string): AclPolicyRecord | undefined {
    if (name === GLOBAL_MANAGEMENT.Name) return GLOBAL_MANAGEMENT;
    for (const p of this.policies.values()) if (p.Name === name) return p;
    return undefined;
  }

  /** Every policy, the built-in global-management first. */
  listPolicies(): AclPolicyRecord[] {
    return [GLOBAL_MANAGEMENT, ...[...this.policies.values()].sort((a, b) => a.CreateIndex - b.CreateIndex)];
  }

  token(accessor: string): AclTokenRecord | undefined {
    return this.tokens.get(accessor);
  }

  listTokens(): AclTokenRecord[] {
    return [...this.tokens.values()].sort((a, b) => a.CreateIndex - b.CreateIndex);
  }

  /** The token whose secret this is, compared in constant time once found by its hash. */
  tokenBySecret(secret: string): AclTokenRecord | undefined {
    const hash = hashSecret(secret);
    const t = this.bySecret.get(hash);
    if (!t) return undefined;
    return timingSafeEqual(Buffer.from(t.SecretHash, 'hex'), Buffer.from(hash, 'hex')) ? t : undefined;
  }

  /**
   * Makes the first management token, once. Resolves with the token and its secret; a second
   * call fails with BEACON_ERR_ACL_DENIED ("ACL bootstrap no longer allowed").
   */
  async bootstrap(): Promise<{ token: AclTokenRecord; secret: string }> {
    const secret = randomUUID();
    const token = this.newToken({
      secret,
      description: 'Bootstrap Token (Global Management)',
      policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: 'global-management' }],
    });
    const r = await this.store.txn(
      [{ key: BOOTSTRAP_KEY, target: 'createRevision', op: '==', value: 0 }],
      [
        { type: 'put', key: BOOTSTRAP_KEY, value: JSON.stringify({ AccessorID: token.AccessorID }) },
        { type: 'put', key: TOKEN_PREFIX + token.AccessorID, value: JSON.stringify(token) },
      ],
    );
    if (!r.succeeded) {
      const kv = await this.store.get(BOOTSTRAP_KEY);
      throw new BeaconError('BEACON_ERR_ACL_DENIED', `Permission denied: ACL bootstrap no longer allowed (reset index: ${kv?.createRevision ?? 0})`);
    }
    await this.caughtUp(r.revision);
    return { token: this.tokens.get(token.AccessorID) ?? token, secret };
  }

  async createPolicy(p: Pick<AclPolicyRecord, 'Name' | 'Description' | 'Rules' | 'Datacenters'>): Promise<AclPolicyRecord> {
    const rec: AclPolicyRecord = { ID: randomUUID(), ...p, CreateIndex: 0, ModifyIndex: 0 };
    return this.writePolicy(rec, [{ key: POLICY_PREFIX + rec.ID, target: 'createRevision', op: '==', value: 0 }]);
  }

  async updatePolicy(id: string, p: Pick<AclPolicyRecord, 'Name' | 'Description' | 'Rules' | 'Datacenters'>): Promise<AclPolicyRecord> {
    const old = this.policies.get(id);
    if (!old || id === GLOBAL_MANAGEMENT_POLICY_ID) {
      throw new BeaconError('BEACON_ERR_NOT_FOUND', old ? 'Changing the global-management policy is not permitted' : `ACL policy not found: "${id}"`);
    }
    return this.writePolicy({ ...old, ...p }, [{ key: POLICY_PREFIX + id, target: 'modRevision', op: '==', value: old.ModifyIndex }]);
  }

  private async writePolicy(rec: AclPolicyRecord, guard: Compare[]): Promise<AclPolicyRecord> {
    const clash = this.policyByName(rec.Name);
    if (clash && clash.ID !== rec.ID) {
      throw new BeaconError('BEACON_ERR_VALIDATION', `Invalid Policy: A Policy with Name "${rec.Name}" already exists`, { field: 'Name' });
    }
    const { CreateIndex: _c, ModifyIndex: _m, ...stored } = rec;
    const r = await this.store.txn(guard, [{ type: 'put', key: POLICY_PREFIX + rec.ID, value: JSON.stringify(stored) }]);
    if (!r.succeeded) throw new BeaconError('BEACON_ERR_CONFLICT', `ACL policy "${rec.Name}" changed meanwhile; try again`);
    await this.caughtUp(r.revision);
    return this.policies.get(rec.ID)!;
  }

  /** Deletes a policy; tokens that named it lose it. */
  async deletePolicy(id: string): Promise<boolean> {
    if (id === GLOBAL_MANAGEMENT_POLICY_ID)
      throw new BeaconError('BEACON_ERR_VALIDATION', 'Deletion of the builtin global-management policy is not permitted', { field: 'id' });
    if (!this.policies.has(id)) return false;
    const r = await this.store.txn([], [{ type: 'delete', key: POLICY_PREFIX + id }]);
    await this.caughtUp(r.revision);
    return true;
  }

  private newToken(o: { secret: string; description: string; policies: AclPolicyLink[]; local?: boolean; accessor?: string }): AclTokenRecord {
    return {
      AccessorID: o.accessor ?? randomUUID(),
      SecretHash: hashSecret(o.secret),
      Description: o.description,
      Policies: o.policies,
      Local: o.local ?? false,
      CreateTime: new Date().toISOString(),
      CreateIndex: 0,
      ModifyIndex: 0,
    };
  }

  /** Creates a token (its secret given, or made); resolves with it and the secret, which is shown this once. */
  async createToken(o: {
    secret?: string;
    accessor?: string;
    description: string;
    policies: AclPolicyLink[];
    local: boolean;
  }): Promise<{ token: AclTokenRecord; secret: string }> {
    const secret = o.secret ?? randomUUID();
    if (this.bySecret.has(hashSecret(secret)) || secret === 'anonymous') {
      throw new BeaconError('BEACON_ERR_VALIDATION', 'Invalid Token: SecretID is already in use', { field: 'SecretID' });
    }
    if (o.accessor !== undefined && this.tokens.has(o.accessor)) {
      throw new BeaconError('BEACON_ERR_VALIDATION', 'Invalid Token: AccessorID is already in use', { field: 'AccessorID' });
    }
    const token = this.newToken({ ...o, secret });
    const r = await this.store.txn(
      [{ key: TOKEN_PREFIX + token.AccessorID, target: 'createRevision', op: '==', value: 0 }],
      [{ type: 'put', key: TOKEN_PREFIX + token.AccessorID, value: JSON.stringify(stripIndexes(token)) }],
    );
    if (!r.succeeded) throw new BeaconError('BEACON_ERR_VALIDATION', 'Invalid Token: AccessorID is already in use', { field: 'AccessorID' });
    await this.caughtUp(r.revision);
    return { token: this.tokens.get(token.AccessorID)!, secret };
  }

  async updateToken(accessor: string, o: { description: string; policies: AclPolicyLink[]; local: boolean }): Promise<AclTokenRecord> {
    const old = this.tokens.get(accessor);
    if (!old) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ACL token not found: "${accessor}"`);
    const next = { ...old, Description: o.description, Policies: o.policies, Local: o.local };
    const r = await this.store.txn(
      [{ key: TOKEN_PREFIX + accessor, target: 'modRevision', op: '==', value: old.ModifyIndex }],
      [{ type: 'put', key: TOKEN_PREFIX + accessor, value: JSON.stringify(stripIndexes(next)) }],
    );
    if (!r.succeeded) throw new BeaconError('BEACON_ERR_CONFLICT', `ACL token "${accessor}" changed meanwhile; try again`);
    await this.caughtUp(r.revision);
    return this.tokens.get(accessor)!;
  }

  async deleteToken(accessor: string): Promise<boolean> {
    if (!this.tokens.has(accessor)) return false;
    const ops: TxnOp[] = [{ type: 'delete', key: TOKEN_PREFIX + accessor }];
    const r = await this.store.txn([], ops);
    await this.caughtUp(r.revision);
    return true;
  }

  /** Resolves once the view has applied `revision` (bounded: a stuck watch does not hold a write's answer past 5 s). */
  private caughtUp(revision: number): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 5000);
      this.waiters.push({
        revision,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  private load(kvs: readonly KeyValue[], revision: number): void {
    this.policies.clear();
    this.tokens.clear();
    this.bySecret.clear();
    this.bootstrapped = false;
    for (const kv of kvs) this.put(kv);
    this.advance(revision);
  }

  private apply(b: WatchBatch): void {
    for (const ev of b.events) {
      if (ev.type === 'put') this.put(ev.kv);
      else this.remove(ev.kv.key);
    }
    this.advance(b.revision);
  }

  private advance(revision: number): void {
    this.revision = Math.max(this.revision, revision);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].revision <= this.revision) this.waiters.splice(i, 1)[0].resolve();
    }
    for (const fn of this.listeners) fn();
  }

  private put(kv: KeyValue): void {
    if (kv.key === BOOTSTRAP_KEY) {
      this.bootstrapped = true;
    } else if (kv.key.startsWith(POLICY_PREFIX)) {
      const p = parse<AclPolicyRecord>(kv);
      if (p) this.policies.set(p.ID, { ...p, CreateIndex: kv.createRevision, ModifyIndex: kv.modRevision });
    } else if (kv.key.startsWith(TOKEN_PREFIX)) {
      const t = parse<AclTokenRecord>(kv);
      if (!t) return;
      const old = this.tokens.get(t.AccessorID);
      if (old) this.bySecret.delete(old.SecretHash);
      const rec = { ...t, CreateIndex: kv.createRevision, ModifyIndex: kv.modRevision };
      this.tokens.set(t.AccessorID, rec);
      this.bySecret.set(t.SecretHash, rec);
    }
  }

  private remove(key: string): void {
    if (key === BOOTSTRAP_KEY) this.bootstrapped = false;
    else if (key.startsWith(POLICY_PREFIX)) this.policies.delete(key.slice(POLICY_PREFIX.length));
    else if (key.startsWith(TOKEN_PREFIX)) {
      const t = this.tokens.get(key.slice(TOKEN_PREFIX.length));
      if (t) {
        this.tokens.delete(t.AccessorID);
        this.bySecret.delete(t.SecretHash);
      }
    }
  }
}

function stripIndexes(t: AclTokenRecord): Omit<AclTokenRecord, 'CreateIndex' | 'ModifyIndex'> {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = t;
  return rest;
}
