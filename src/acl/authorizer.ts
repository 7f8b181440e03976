/**
 * What one token may do: the rules of its policies merged (for the same name, deny wins over
 * write over read), an exact rule before any prefix rule, the longest prefix first, and the
 * default policy when no rule matches. ACL management itself (`acl`) is never covered by the
 * default policy: it needs an `acl` rule or the global-management policy.
 */
import { merge, RESOURCES, type Access, type Resource, type Rules } from './rules.js';

export type Want = 'read' | 'write';

interface Merged {
  exact: Record<Resource, Map<string, Access>>;
  prefix: Record<Resource, (readonly [string, Access])[]>;
  acl: Access | undefined;
}

function mergeAll(sets: readonly Rules[]): Merged {
  const exact = { service: new Map<string, Access>(), node: new Map<string, Access>(), agent: new Map<string, Access>() };
  const prefixes = { service: new Map<string, Access>(), node: new Map<string, Access>(), agent: new Map<string, Access>() };
  let acl: Access | undefined;
  for (const r of sets) {
    for (const res of RESOURCES) {
      for (const [name, a] of r.exact[res]) exact[res].set(name, merge(exact[res].get(name), a));
      for (const [name, a] of r.prefix[res]) prefixes[res].set(name, merge(prefixes[res].get(name), a));
    }
    if (r.acl !== undefined) acl = merge(acl, r.acl);
  }
  const sorted = (m: Map<string, Access>) => [...m.entries()].sort((a, b) => b[0].length - a[0].length);
  return { exact, prefix: { service: sorted(prefixes.service), node: sorted(prefixes.node), agent: sorted(prefixes.agent) }, acl };
}

const allows = (a: Access, want: Want): boolean => a === 'write' || (a === 'read' && want === 'read');

export class Authorizer {
  private readonly merged: Merged;

  /**
   * @param id what this authorizer stands for in cache keys (the token's accessor ID, or
   *   'anonymous'); two requests with the same id see the same answers.
   */
  constructor(
    readonly id: string,
    rules: readonly Rules[],
    private readonly defaultAllow: boolean,
    /** The global-management policy: everything is allowed. */
    readonly management = false,
  ) {
    this.merged = mergeAll(rules);
  }

  /** True when nothing is ever refused or filtered (management, or default allow with no rule at all). */
  get allowsAll(): boolean {
    if (this.management) return true;
    if (!this.defaultAllow) return false;
    const m = this.merged;
    return RESOURCES.every((r) => m.exact[r].size === 0 && m.prefix[r].length === 0);
  }

  /** The rule that applies to `name`, if any. */
  access(res: Resource, name: string): Access | undefined {
    const exact = this.merged.exact[res].get(name);
    if (exact !== undefined) return exact;
    for (const [p, a] of this.merged.prefix[res]) if (name.startsWith(p)) return a;
    return undefined;
  }

  can(res: Resource, name: string, want: Want): boolean {
    if (this.management) return true;
    const a = this.access(res, name);
    return a === undefined ? this.defaultAllow : allows(a, want);
  }

  serviceRead(name: string): boolean {
    return this.can('service', name, 'read');
  }

  serviceWrite(name: string): boolean {
    return this.can('service', name, 'write');
  }

  nodeRead(name: string): boolean {
    return this.can('node', name, 'read');
  }

  nodeWrite(name: string): boolean {
    return this.can('node', name, 'write');
  }

  agentRead(name: string): boolean {
    return this.can('agent', name, 'read');
  }

  agentWrite(name: string): boolean {
    return this.can('agent', name, 'write');
  }

  /** ACL management: an `acl` rule or global-management; the default policy does not grant it. */
  acl(want: Want): boolean {
    if (this.management) return true;
    return this.merged.acl !== undefined && allows(this.merged.acl, want);
  }
}
