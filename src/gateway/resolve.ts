import type { IncomingMessage } from 'node:http';
import type { ServiceInstance, ServiceRouter, ServiceSnapshot } from '../client/index.js';
import { BeaconError } from '../errors/index.js';
import { serviceTarget } from './config.js';
import { stripPath, type RouteTable } from './route-table.js';
import { FIRST_ANSWER_WAIT_MS, type FailoverTargets, type Target, type Upstreams } from './upstreams.js';

/** Where a request goes: the target, the route label (metrics, logs) and the path sent upstream. */
export interface Resolved {
  readonly target: Target;
  /** `host` for a `<svc>.service.consul` Host, else the path route's id. */
  readonly route: string;
  /** Path and query sent upstream (the route's strip applied). */
  readonly path: string;
}

/** The host name a request was sent to: lower case, without port and trailing dot. */
export function requestHost(req: IncomingMessage): string {
  const h = (req.headers.host ?? '').toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return (colon >= 0 ? h.slice(0, colon) : h).replace(/\.$/, '');
}

/**
 * Finds the route of a request. A Host in the DNS forms (`payments.service.consul`,
 * `v2.payments.service.dc2.consul`) names the service directly; any other host goes through the
 * path routes (routes file and `urlprefix-` tags). Throws `BEACON_ERR_GATEWAY_NO_ROUTE`.
 */
export function resolveRequest(req: IncomingMessage, table: RouteTable, domain: string): Resolved {
  let url = req.url ?? '/';
  // An absolute-form target (`GET http://host/path`, as sent to proxies): keep path and query.
  if (!url.startsWith('/')) {
    try {
      const u = new URL(url);
      url = `${u.pathname}${u.search}`;
    } catch {
      url = '/';
    }
  }
  const host = requestHost(req);
  const byHost = host === '' ? undefined : serviceTarget(host, domain);
  if (byHost) return { target: byHost, route: 'host', path: url };
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const route = table.match(host, path);
  if (!route) throw new BeaconError('BEACON_ERR_GATEWAY_NO_ROUTE', `No route for host ${host || '(none)'} path ${path}`);
  const sent = route.strip === undefined ? url : `${stripPath(path, route.strip)}${q < 0 ? '' : url.slice(q)}`;
  return { target: { service: route.service, tag: route.tag, dc: route.dc }, route: route.id, path: sent };
}

function describeTarget(t: Target): string {
  return `${t.service}${t.tag !== undefined ? ` (tag ${t.tag})` : ''}${t.dc !== undefined ? ` in datacenter ${t.dc}` : ''}`;
}

/** A target ready to pick from: its router and current set. */
export interface Prepared {
  readonly target: Target;
  readonly router: ServiceRouter;
  readonly snap: ServiceSnapshot;
}

/**
 * The common case without waiting: the service list and the target's set are known and the set
 * has an instance to pick. Undefined otherwise ({@link prepareTarget} decides then).
 */
export function preparedNow(upstreams: Upstreams, target: Target): Prepared | undefined {
  const catalog = upstreams.catalog(target.dc);
  if (!catalog.loaded || !catalog.services.has(target.service)) return undefined;
  const router = upstreams.peekRouter(target);
  const snap = router?.snapshotNow();
  if (!router || !snap || snap.instances.length === 0) return undefined;
  return { target, router, snap };
}

/**
 * Checks the target's service exists (else `BEACON_ERR_GATEWAY_NO_ROUTE`) and returns its router
 * and current set; with no healthy instance, tries the failover targets, then throws
 * `BEACON_ERR_GATEWAY_NO_INSTANCES`.
 */
export async function prepareTarget(upstreams: Upstreams, target: Target, failover?: FailoverTargets): Promise<Prepared> {
  const catalog = upstreams.catalog(target.dc);
  if (!catalog.loaded) await catalog.ready(FIRST_ANSWER_WAIT_MS);
  if (catalog.unknownDatacenter) throw new BeaconError('BEACON_ERR_GATEWAY_NO_ROUTE', `Unknown datacenter ${catalog.dc ?? ''} (service ${target.service})`);
  if (!catalog.loaded) {
    throw new BeaconError(
      'BEACON_ERR_GATEWAY_NO_INSTANCES',
      `Service ${describeTarget(target)}: Beacon has not answered (${catalog.error?.message ?? 'no answer yet'})`,
    );
  }
  const tags = catalog.services.get(target.service);
  if (!tags) throw new BeaconError('BEACON_ERR_GATEWAY_NO_ROUTE', `Unknown service ${describeTarget(target)}`);
  if (target.tag !== undefined) {
    // A tag no instance carries is refused before anything is watched for it (a Host may hold
    // any label). Host names are case-insensitive, tags are not: use the catalog's spelling.
    const wanted = target.tag;
    const actual = tags.includes(wanted) ? wanted : tags.find((t) => t.toLowerCase() === wanted.toLowerCase());
    if (actual === undefined) throw new BeaconError('BEACON_ERR_GATEWAY_NO_ROUTE', `Unknown service ${describeTarget(target)}: no instance has the tag`);
    if (actual !== wanted) target = { ...target, tag: actual };
  }
  const router = upstreams.router(target);
  let snap: ServiceSnapshot;
  try {
    snap = await upstreams.snapshot(router);
  } catch (err) {
    throw new BeaconError('BEACON_ERR_GATEWAY_NO_INSTANCES', `Service ${describeTarget(target)}: ${(err as Error).message}`);
  }
  if (router.available(snap).length > 0 || !failover) return { target, router, snap };
  for (const next of failover(target)) {
    const r = upstreams.router(next);
    const s = await upstreams.snapshot(r).catch(() => undefined);
    if (s && r.available(s).length > 0) return { target: next, router: r, snap: s };
  }
  return { target, router, snap };
}

/** The error for a target with nothing (left) to pick. */
export function noInstance(target: Target, snap: ServiceSnapshot, tried: number): BeaconError {
  const why = snap.instances.length === 0 ? 'no healthy instance' : tried > 0 ? 'no healthy instance left to try' : 'every healthy instance is ejected';
  return new BeaconError('BEACON_ERR_GATEWAY_NO_INSTANCES', `Service ${describeTarget(target)}: ${why}`);
}

/** The instance's label in metrics and logs. */
export function instanceLabel(i: ServiceInstance): string {
  return i.id;
}
