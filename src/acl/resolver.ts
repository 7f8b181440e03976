/**
 * Turns the token of a request into an {@link Authorizer}: the secret is looked up by its hash
 * (compared in constant time), its policies' rules parsed once and kept until the ACL data
 * changes. No token is the anonymous token: only the default policy applies to it.
 */
import { ANONYMOUS_TOKEN_ID, GLOBAL_MANAGEMENT_POLICY_ID, type AclStore, type AclTokenRecord } from '../catalog/index.js';
import { BeaconError } from '../errors/index.js';
import { Authorizer } from './authorizer.js';
import { parseRules, type Rules } from './rules.js';

export type DefaultPolicy = 'allow' | 'deny';

/** Secrets remembered between changes (a flood of made-up secrets empties the table, not memory). */
const MAX_SEEN = 10_000;

export class AclResolver {
  private readonly byAccessor = new Map<string, Authorizer>();
  /**
   * Secrets seen lately and the token each is (null: none), so a request does not hash its
   * secret again: a token's requests cost a map lookup. Bounded, and emptied on every change.
   */
  private readonly seen = new Map<string, { accessor: string; authz: Authorizer } | null>();
  private readonly rules = new Map<string, Rules>();
  private anonymousAuthz: Authorizer;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly store: AclStore,
    readonly defaultPolicy: DefaultPolicy,
    private readonly datacenter: string,
  ) {
    this.anonymousAuthz = new Authorizer('anonymous', [], defaultPolicy === 'allow');
    store.onChange(() => {
      this.byAccessor.clear();
      this.seen.clear();
      this.rules.clear();
      for (const fn of this.listeners) fn();
    });
  }

  /** Called when tokens or policies changed (cached answers filtered for a token are then out of date). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Whether requests may see or do less than everything: the default policy is deny, or some
   * token exists (whose rules may deny). While false every request is allowed everything.
   */
  get active(): boolean {
    return this.defaultPolicy === 'deny' || this.store.hasTokens;
  }

  get anonymous(): Authorizer {
    return this.anonymousAuthz;
  }

  /**
   * The authorizer of a secret (undefined or '' for none). An unknown secret fails with
   * BEACON_ERR_ACL_NOT_FOUND ("ACL not found"), as Consul answers.
   */
  resolve(secret: string | undefined): Authorizer {
    if (secret === undefined || secret === '' || secret === 'anonymous') return this.anonymousAuthz;
    const found = this.lookup(secret);
    if (!found) throw new BeaconError('BEACON_ERR_ACL_NOT_FOUND', 'ACL not found');
    return found.authz;
  }

  /** The accessor ID a secret belongs to, for cache keys ('' for none or an unknown one). */
  identity(secret: string | undefined): string {
    if (secret === undefined || secret === '') return '';
    return this.lookup(secret)?.accessor ?? '';
  }

  private lookup(secret: string): { accessor: string; authz: Authorizer } | null {
    const hit = this.seen.get(secret);
    if (hit !== undefined) return hit;
    const token = this.store.tokenBySecret(secret);
    const found = token ? { accessor: token.AccessorID, authz: this.forToken(token) } : null;
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    this.seen.set(secret, found);
    return found;
  }

  private forToken(token: AclTokenRecord): Authorizer {
    let a = this.byAccessor.get(token.AccessorID);
    if (a) return a;
    const sets: Rules[] = [];
    let management = false;
    for (const link of token.Policies) {
      if (link.ID === GLOBAL_MANAGEMENT_POLICY_ID) {
        management = true;
        continue;
      }
      const p = this.store.policy(link.ID);
      if (!p) continue; // a deleted policy no longer grants anything
      if (p.Datacenters.length > 0 && !p.Datacenters.includes(this.datacenter)) continue;
      let r = this.rules.get(p.ID);
      if (!r) {
        try {
          r = parseRules(p.Rules);
        } catch {
          continue; // stored rules were checked when written; one that no longer parses grants nothing
        }
        this.rules.set(p.ID, r);
      }
      sets.push(r);
    }
    a = new Authorizer(token.AccessorID, sets, this.defaultPolicy === 'allow', management);
    this.byAccessor.set(token.AccessorID, a);
    return a;
  }
}

export { ANONYMOUS_TOKEN_ID };
