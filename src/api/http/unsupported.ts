/**
 * The parts of Consul's v1 API that Beacon does not implement. A request to one of them gets a
 * 404 with one line that says so (instead of an empty 404, or a 400 for a body Beacon would
 * never read), before any body parsing. docs/api.md lists the same parts. Each line is shorter
 * than 80 characters: the `consul` npm client shows a text answer only below that length.
 */
const UNSUPPORTED: readonly [RegExp, string][] = [
  [/^\/v1\/kv(\/|$)/, 'KV store (/v1/kv)'],
  [/^\/v1\/session(\/|$)/, 'sessions (/v1/session)'],
  [/^\/v1\/event(\/|$)/, 'user events (/v1/event)'],
  [/^\/v1\/txn(\/|$)/, 'transactions (/v1/txn)'],
  [/^\/v1\/connect(\/|$)/, 'service mesh (/v1/connect)'],
  [/^\/v1\/acl\/(roles?|auth-methods?|binding-rules?|login|logout|templated-polic)/, 'ACL roles and auth methods (/v1/acl)'],
  [/^\/v1\/snapshot(\/|$)/, 'snapshots (/v1/snapshot)'],
  [/^\/v1\/operator(\/|$)/, 'operator endpoints (/v1/operator)'],
  [/^\/v1\/coordinate(\/|$)/, 'network coordinates (/v1/coordinate)'],
  [/^\/v1\/config(\/|$)/, 'config entries (/v1/config)'],
  [/^\/v1\/peerings?(\/|$)/, 'cluster peering (/v1/peering)'],
  [/^\/v1\/namespaces?(\/|$)/, 'namespaces (/v1/namespace)'],
  [/^\/v1\/partitions?(\/|$)/, 'admin partitions (/v1/partition)'],
  [/^\/v1\/discovery-chain(\/|$)/, 'discovery chains (/v1/discovery-chain)'],
  [/^\/v1\/internal(\/|$)/, 'internal UI endpoints (/v1/internal)'],
];

/**
 * The one-line answer for a path in a part of Consul's API Beacon does not have, or undefined.
 *
 * @example
 * unsupportedConsulApi('/v1/kv/config/db?recurse'); // "Beacon does not implement Consul's KV store (/v1/kv)"
 */
export function unsupportedConsulApi(url: string): string | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const hit = UNSUPPORTED.find(([re]) => re.test(path));
  return hit && `Beacon does not implement Consul's ${hit[1]}`;
}
