/**
 * Policy rules in Consul's syntax, HCL or JSON, for the resources Beacon has:
 *
 *   service "web" { policy = "write" }      service_prefix "" { policy = "read" }
 *   node "n1"     { policy = "read" }       node_prefix ""    { policy = "deny" }
 *   agent "n1"    { policy = "read" }       agent_prefix ""   { policy = "read" }
 *   acl = "write"
 *
 * or `{"service": {"web": {"policy": "write"}}, "acl": "write"}`. Rules for resources of
 * Consul's that Beacon does not have (key, session, query, event, keyring, operator, mesh,
 * peering, and attributes such as `intentions`) are accepted and have no effect, so Consul
 * policies can be used as they are. Anything else is refused with the line and what was found.
 */
import { BeaconError } from '../errors/index.js';

export type Access = 'deny' | 'read' | 'write';
export type Resource = 'service' | 'node' | 'agent';

export const RESOURCES: readonly Resource[] = ['service', 'node', 'agent'];
const ACCESS: readonly string[] = ['deny', 'read', 'write'];
/** Consul resources accepted without effect. */
const IGNORED_BLOCKS = new Set([
  'key',
  'key_prefix',
  'session',
  'session_prefix',
  'query',
  'query_prefix',
  'event',
  'event_prefix',
  'identity',
  'identity_prefix',
  'partition',
  'partition_prefix',
  'namespace',
  'namespace_prefix',
]);
const IGNORED_SCALARS = new Set(['operator', 'keyring', 'mesh', 'peering']);

export interface Rules {
  /** Exact rules by resource and name. */
  readonly exact: Readonly<Record<Resource, ReadonlyMap<string, Access>>>;
  /** Prefix rules by resource, longest prefix first. */
  readonly prefix: Readonly<Record<Resource, readonly (readonly [string, Access])[]>>;
  readonly acl: Access | undefined;
}

function invalid(message: string): BeaconError {
  return new BeaconError('BEACON_ERR_VALIDATION', `Invalid Policy: ${message}`, { field: 'Rules' });
}

class Builder {
  readonly exact = { service: new Map<string, Access>(), node: new Map<string, Access>(), agent: new Map<string, Access>() };
  readonly prefix = { service: new Map<string, Access>(), node: new Map<string, Access>(), agent: new Map<string, Access>() };
  acl: Access | undefined;

  block(kind: string, name: string, attrs: Record<string, string>, where: string): void {
    const prefixed = kind.endsWith('_prefix');
    const res = (prefixed ? kind.slice(0, -'_prefix'.length) : kind) as Resource;
    if (!RESOURCES.includes(res)) {
      if (IGNORED_BLOCKS.has(kind)) return;
      throw invalid(`unknown rule "${kind}"${where} (Beacon knows service, service_prefix, node, node_prefix, agent, agent_prefix and acl)`);
    }
    const policy = attrs.policy;
    if (policy === undefined) throw invalid(`${kind} "${name}"${where} has no policy (write policy = "read", "write" or "deny")`);
    if (!ACCESS.includes(policy)) throw invalid(`${kind} "${name}"${where}: policy must be "read", "write" or "deny", got "${policy}"`);
    const target = prefixed ? this.prefix[res] : this.exact[res];
    target.set(name, merge(target.get(name), policy as Access));
  }

  scalar(name: string, value: string, where: string): void {
    if (name === 'acl') {
      if (!ACCESS.includes(value)) throw invalid(`acl${where} must be "read", "write" or "deny", got "${value}"`);
      this.acl = merge(this.acl, value as Access);
      return;
    }
    if (IGNORED_SCALARS.has(name)) return;
    throw invalid(`unknown rule "${name}"${where}`);
  }

  build(): Rules {
    const sorted = (m: Map<string, Access>) => [...m.entries()].sort((a, b) => b[0].length - a[0].length);
    return {
      exact: this.exact,
      prefix: { service: sorted(this.prefix.service), node: sorted(this.prefix.node), agent: sorted(this.prefix.agent) },
      acl: this.acl,
    };
  }
}

/** Two rules for the same thing: deny wins, then write, as Consul merges policies. */
export function merge(a: Access | undefined, b: Access): Access {
  if (a === undefined) return b;
  if (a === 'deny' || b === 'deny') return 'deny';
  return a === 'write' || b === 'write' ? 'write' : 'read';
}

/** Parses a policy's Rules (HCL or JSON); throws BEACON_ERR_VALIDATION naming what is wrong. */
export function parseRules(text: string): Rules {
  if (text.length > 128 * 1024) throw invalid('Rules are longer than 128 KB');
  const b = new Builder();
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) parseJson(trimmed, b);
  else parseHcl(text, b);
  return b.build();
}

function parseJson(text: string, b: Builder): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(`Rules are not valid JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('JSON rules must be an object');
  for (const [kind, v] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof v === 'string') {
      b.scalar(kind, v, '');
      continue;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`"${kind}" must be an object of names, or a policy string`);
    for (const [name, attrs] of Object.entries(v as Record<string, unknown>)) {
      if (!attrs || typeof attrs !== 'object') throw invalid(`${kind} "${name}" must be an object such as {"policy": "read"}`);
      const flat: Record<string, string> = {};
      for (const [k, val] of Object.entries(attrs as Record<string, unknown>)) if (typeof val === 'string') flat[k] = val;
      b.block(kind, name, flat, '');
    }
  }
}

type Tok = { t: 'ident' | 'string' | '=' | '{' | '}'; v: string; line: number };

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === ',') i++;
    else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw invalid(`unterminated comment from line ${line}`);
      line += text.slice(i, end).split('\n').length - 1;
      i = end + 2;
    } else if (c === '=' || c === '{' || c === '}') {
      out.push({ t: c, v: c, line });
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length || text[i] === '\n') throw invalid(`unterminated string on line ${line}`);
        if (text[i] === '"') break;
        if (text[i] === '\\' && i + 1 < text.length) {
          const e = text[i + 1];
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
        } else v += text[i++];
      }
      i++;
      out.push({ t: 'string', v, line });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i, i + 64))!;
      out.push({ t: 'ident', v: m[0], line });
      i += m[0].length;
    } else {
      throw invalid(`unexpected "${c}" on line ${line}`);
    }
  }
  return out;
}

function parseHcl(text: string, b: Builder): void {
  const toks = tokenize(text);
  let i = 0;
  const next = (what: string): Tok => {
    const t = toks[i++];
    if (!t) throw invalid(`Rules end where ${what} was expected`);
    return t;
  };
  while (i < toks.length) {
    const head = next('a rule');
    if (head.t !== 'ident') throw invalid(`expected a rule name on line ${head.line}, got "${head.v}"`);
    const t = next(`"=" or a name after ${head.v}`);
    if (t.t === '=') {
      const v = next(`a value for ${head.v}`);
      if (v.t !== 'string') throw invalid(`${head.v} on line ${v.line} must be a quoted string such as "read"`);
      b.scalar(head.v, v.v, ` on line ${head.line}`);
      continue;
    }
    if (t.t !== 'string') throw invalid(`${head.v} on line ${t.line} must be followed by a quoted name, e.g. ${head.v} "web" { policy = "read" }`);
    const open = next('"{"');
    if (open.t !== '{') throw invalid(`expected "{" after ${head.v} "${t.v}" on line ${open.line}`);
    const attrs: Record<string, string> = {};
    for (;;) {
      const k = next(`"}" closing ${head.v} "${t.v}"`);
      if (k.t === '}') break;
      if (k.t !== 'ident') throw invalid(`expected an attribute such as policy on line ${k.line}, got "${k.v}"`);
      const eq = next('"="');
      if (eq.t !== '=') throw invalid(`expected "=" after ${k.v} on line ${eq.line}`);
      const v = next(`a value for ${k.v}`);
      if (v.t !== 'string') throw invalid(`${k.v} on line ${v.line} must be a quoted string`);
      attrs[k.v] = v.v;
    }
    b.block(head.v, t.v, attrs, ` on line ${head.line}`);
  }
}
