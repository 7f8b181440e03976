import { readFile } from 'node:fs/promises';
import { BeaconError } from '../errors/index.js';
import type { RouteSpec } from './route-table.js';

/** Keys one entry of a routes file may have. */
const ENTRY_KEYS = ['prefix', 'service', 'tag', 'dc', 'strip', 'host'] as const;
const NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const HOST = /^[a-z0-9*](?:[a-z0-9.-]*[a-z0-9])?$/i;
/** Routes one file may hold (each is scanned per request). */
export const MAX_FILE_ROUTES = 10_000;

function bad(path: string, field: string, message: string): BeaconError {
  return new BeaconError('BEACON_ERR_GATEWAY_ROUTES', `routes file ${path}: ${field}: ${message}`, { field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and checks the text of a routes file:
 *
 * ```json
 * { "routes": [ { "prefix": "/api", "service": "api", "tag": "v2", "dc": "dc2", "strip": true, "host": "shop.example.com" } ] }
 * ```
 *
 * `prefix` and `service` are required; the rest is optional. Throws `BEACON_ERR_GATEWAY_ROUTES`
 * naming the file and the field at fault (`routes[2].service: required`); nothing is half-loaded.
 */
export function parseRoutesFile(path: string, text: string): RouteSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(path, '(file)', `not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw bad(path, '(file)', 'expected an object {"routes": [...]}');
  for (const k of Object.keys(doc)) if (k !== 'routes') throw bad(path, k, 'unknown key (the file holds only "routes")');
  const list = doc.routes;
  if (!Array.isArray(list)) throw bad(path, 'routes', 'required, an array of routes');
  if (list.length > MAX_FILE_ROUTES) throw bad(path, 'routes', `${list.length} routes; at most ${MAX_FILE_ROUTES}`);
  const seen = new Map<string, number>();
  return list.map((entry: unknown, i): RouteSpec => {
    const at = `routes[${i}]`;
    if (!isObject(entry)) throw bad(path, at, 'expected an object with "prefix" and "service"');
    for (const k of Object.keys(entry)) {
      if (!(ENTRY_KEYS as readonly string[]).includes(k)) throw bad(path, `${at}.${k}`, `unknown key (use ${ENTRY_KEYS.join(', ')})`);
    }
    const { prefix, service, tag, dc, strip, host } = entry;
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw bad(path, `${at}.prefix`, 'required, a path starting with "/"');
    if (/[\s?#]/.test(prefix)) throw bad(path, `${at}.prefix`, 'may not hold spaces, "?" or "#"');
    if (typeof service !== 'string' || !NAME.test(service)) throw bad(path, `${at}.service`, 'required, a service name');
    if (tag !== undefined && (typeof tag !== 'string' || tag === '')) throw bad(path, `${at}.tag`, 'must be a non-empty string');
    if (dc !== undefined && (typeof dc !== 'string' || !NAME.test(dc))) throw bad(path, `${at}.dc`, 'must be a datacenter name');
    if (strip !== undefined && typeof strip !== 'boolean') throw bad(path, `${at}.strip`, 'must be true or false');
    if (host !== undefined && (typeof host !== 'string' || !HOST.test(host))) throw bad(path, `${at}.host`, 'must be a host name');
    const key = `${(host ?? '').toLowerCase()} ${prefix}`;
    const twin = seen.get(key);
    if (twin !== undefined) throw bad(path, `${at}.prefix`, `"${prefix}" is already routed by routes[${twin}]${host ? ` for host ${host}` : ''}`);
    seen.set(key, i);
    return {
      source: 'file',
      host: host === undefined ? undefined : host.toLowerCase(),
      prefix,
      service,
      tag,
      dc,
      strip: strip === true ? prefix : undefined,
      origin: `${path} ${at}`,
    };
  });
}

/** Reads and parses a routes file; an unreadable file is a `BEACON_ERR_GATEWAY_ROUTES` naming it. */
export async function loadRoutesFile(path: string): Promise<RouteSpec[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw bad(path, '(file)', code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (err as Error).message})`);
  }
  return parseRoutesFile(path, text);
}
