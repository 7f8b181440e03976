/**
 * Store key layout of the catalog. Segments are URI-encoded so names may hold any character.
 *   beacon/catalog/nodes/<node>
 *   beacon/catalog/services/<node>/<serviceID>
 *   beacon/catalog/checks/<node>/<checkID>
 */
export const CATALOG_PREFIX = 'beacon/catalog/';
const NODES = `${CATALOG_PREFIX}nodes/`;
const SERVICES = `${CATALOG_PREFIX}services/`;
const CHECKS = `${CATALOG_PREFIX}checks/`;

const enc = encodeURIComponent;

export const nodeKey = (node: string): string => NODES + enc(node);
export const serviceKey = (node: string, id: string): string => `${SERVICES}${enc(node)}/${enc(id)}`;
export const checkKey = (node: string, id: string): string => `${CHECKS}${enc(node)}/${enc(id)}`;
export const nodeServicesPrefix = (node: string): string => `${SERVICES}${enc(node)}/`;
export const nodeChecksPrefix = (node: string): string => `${CHECKS}${enc(node)}/`;

export type ParsedKey =
  | { kind: 'node'; node: string }
  | { kind: 'service'; node: string; id: string }
  | { kind: 'check'; node: string; id: string };

/** Decodes a catalog key; undefined for keys that are not catalog records. */
export function parseKey(key: string): ParsedKey | undefined {
  if (key.startsWith(NODES)) return { kind: 'node', node: decodeURIComponent(key.slice(NODES.length)) };
  const rest = key.startsWith(SERVICES) ? key.slice(SERVICES.length) : key.startsWith(CHECKS) ? key.slice(CHECKS.length) : undefined;
  if (rest === undefined) return undefined;
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const node = decodeURIComponent(rest.slice(0, slash));
  const id = decodeURIComponent(rest.slice(slash + 1));
  return { kind: key.startsWith(SERVICES) ? 'service' : 'check', node, id };
}
