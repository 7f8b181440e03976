/**
 * The path routes of the gateway: the routes file's and those services publish with
 * `urlprefix-` tags, in one table ordered by the conflict rule.
 */

/** One path route, before ordering. */
export interface RouteSpec {
  readonly source: 'file' | 'tag';
  /** Only for requests to this host (lower case, no port); undefined: any host. */
  readonly host: string | undefined;
  /** Path prefix, starting with "/". */
  readonly prefix: string;
  readonly service: string;
  /** Only instances with this tag (for a `urlprefix-` route: the tag itself). */
  readonly tag: string | undefined;
  readonly dc: string | undefined;
  /** Prefix removed from the path before the request goes upstream. */
  readonly strip: string | undefined;
  /** Where it comes from: `FILE routes[3]`, or the tag. */
  readonly origin: string;
}

/** A route in the table, with its place in the order and whether another route hides it. */
export interface Route extends RouteSpec {
  /** Label for metrics and logs: `host/prefix` or `/prefix`. */
  readonly id: string;
  /** True when a route earlier in the order has the same host and prefix: this one never matches. */
  readonly shadowed: boolean;
}

/** A `urlprefix-` tag the gateway could not use, and why. */
export interface RejectedTag {
  readonly service: string;
  readonly tag: string;
  readonly reason: string;
}

export const URLPREFIX = 'urlprefix-';
const HOST = /^[a-z0-9*](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?$/i;

/**
 * Reads a Fabio-style `urlprefix-` tag: `urlprefix-/api`, `urlprefix-shop.example.com/`,
 * `urlprefix-/api strip=/api`. Returns the route, or a reason it cannot be used.
 */
export function parseUrlprefixTag(service: string, tag: string): RouteSpec | { reason: string } {
  const [spec, ...opts] = tag.slice(URLPREFIX.length).trim().split(/\s+/);
  const slash = spec.indexOf('/');
  if (slash < 0) return { reason: 'no path: expected urlprefix-[host]/path' };
  const host = spec.slice(0, slash);
  const prefix = spec.slice(slash);
  if (host !== '' && !HOST.test(host)) return { reason: `"${host}" is not a host name` };
  if (/[?#]/.test(prefix)) return { reason: 'the path may not hold "?" or "#"' };
  let strip: string | undefined;
  for (const o of opts) {
    const m = /^strip=(\/\S*)$/.exec(o);
    if (m) strip = m[1];
    else return { reason: `option "${o}" is not supported (only strip=/path)` };
  }
  return {
    source: 'tag',
    host: host === '' ? undefined : host.toLowerCase().replace(/:\d+$/, ''),
    prefix,
    service,
    tag,
    dc: undefined,
    strip,
    origin: `tag "${tag}" of ${service}`,
  };
}

/** True when `path` is under `prefix`, on a segment boundary (`/api` takes `/api` and `/api/x`, not `/apix`). */
export function underPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith('/') || path.length === prefix.length || path.charCodeAt(prefix.length) === 47;
}

/** The path sent upstream once `strip` is removed (always starting with "/"). */
export function stripPath(path: string, strip: string | undefined): string {
  if (strip === undefined || !underPrefix(path, strip)) return path;
  const rest = path.slice(strip.endsWith('/') ? strip.length - 1 : strip.length);
  return rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
}

/**
 * The conflict rule: the longest prefix wins; at equal prefixes a route for a named host beats
 * one for any host, then the routes file beats a tag, then the service name decides (so the
 * order never depends on the order the catalog listed things in).
 */
export function compareRoutes(a: RouteSpec, b: RouteSpec): number {
  if (a.prefix.length !== b.prefix.length) return b.prefix.length - a.prefix.length;
  if ((a.host === undefined) !== (b.host === undefined)) return a.host === undefined ? 1 : -1;
  if (a.source !== b.source) return a.source === 'file' ? -1 : 1;
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  return (a.tag ?? '') < (b.tag ?? '') ? -1 : (a.tag ?? '') > (b.tag ?? '') ? 1 : 0;
}

/** The ordered route table, rebuilt whole whenever the routes file or the catalog's tags change. */
export class RouteTable {
  readonly routes: readonly Route[];
  readonly rejected: readonly RejectedTag[];

  constructor(fileRoutes: readonly RouteSpec[], serviceTags: ReadonlyMap<string, readonly string[]>) {
    const specs: RouteSpec[] = [...fileRoutes];
    const rejected: RejectedTag[] = [];
    for (const [service, tags] of serviceTags) {
      for (const tag of tags) {
        if (!tag.startsWith(URLPREFIX)) continue;
        const r = parseUrlprefixTag(service, tag);
        if ('reason' in r) rejected.push({ service, tag, reason: r.reason });
        else specs.push(r);
      }
    }
    specs.sort(compareRoutes);
    const taken = new Set<string>();
    this.routes = specs.map((s) => {
      const key = `${s.host ?? ''}${s.prefix}`;
      const shadowed = taken.has(key);
      taken.add(key);
      return Object.freeze({ ...s, id: key, shadowed });
    });
    this.rejected = rejected;
  }

  /** The route for a request, or undefined. `host` is lower case without port; `path` without query. */
  match(host: string, path: string): Route | undefined {
    for (const r of this.routes) {
      if (r.host !== undefined && r.host !== host) continue;
      if (underPrefix(path, r.prefix)) return r;
    }
    return undefined;
  }
}
