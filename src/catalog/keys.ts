/**
 * Store key layout of the catalog. Segments are URI-encoded so names may hold any character.
 *   beacon/catalog/nodes/<node>
 *   beacon/catalog/services/<node>/<serviceID>
 *   beacon/catalog/checks/<node>/<checkID>
 */
import { invalid } from '../errors/index.js';

export const CATALOG_PREFIX = 'beacon/catalog/';
const NODES = `${CATALOG_PREFIX}nodes/`;
const SERVICES = `${CATALOG_PREFIX}services/`;
const CHECKS = `${CATALOG_PREFIX}checks/`;

/**
 * A key segment. A string with an unpaired UTF-16 surrogate has no UTF-8 form, so
 * encodeURIComponent throws a URIError; that is bad input, answered as a validation error
 * naming the field, never an internal one.
 */
function enc(field: string, value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    throw invalid(field, `Invalid ${field}: contains an unpaired UTF-16 surrogate`);
  }
}

export const nodeKey = (node: string): string => NODES + enc('Node', node);
export const serviceKey = (node: string, id: string): string => `${SERVICES}${enc('Node', node)}/${enc('ServiceID', id)}`;
export const checkKey = (node: string, id: string): string => `${CHECKS}${enc('Node', node)}/${enc('CheckID', id)}`;
export const nodeServicesPrefix = (node: string): string => `${SERVICES}${enc('Node', node)}/`;
export const nodeChecksPrefix = (node: string): string => `${CHECKS}${enc('Node', node)}/`;

export type ParsedKey = { kind: 'node'; node: string } | { kind: 'service'; node: string; id: string } | { kind: 'check'; node: string; id: string };

/** decodeURIComponent, or undefined for a segment Beacon cannot have written (a bad %-escape). */
function dec(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Decodes a catalog key; undefined for keys that are not catalog records (or not decodable ones). */
export function parseKey(key: string): ParsedKey | undefined {
  if (key.startsWith(NODES)) {
    const node = dec(key.slice(NODES.length));
    return node === undefined ? undefined : { kind: 'node', node };
  }
  const rest = key.startsWith(SERVICES) ? key.slice(SERVICES.length) : key.startsWith(CHECKS) ? key.slice(CHECKS.length) : undefined;
  if (rest === undefined) return undefined;
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const node = dec(rest.slice(0, slash));
  const id = dec(rest.slice(slash + 1));
  if (node === undefined || id === undefined) return undefined;
  return { kind: key.startsWith(SERVICES) ? 'service' : 'check', node, id };
}
