import { readFileSync } from 'node:fs';
import { didYouMean } from '../client/index.js';
import { usageError } from './flags.js';
import { jsonErrorAt } from './json-error.js';

/** An agent service definition, as `PUT /v1/agent/service/register` takes it (keys in any case). */
export type ServiceDefinition = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value of `key` in `obj`, matching the key without regard to case or underscores, as the API does. */
export function field(obj: Record<string, unknown>, key: string): unknown {
  const want = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.replace(/_/g, '').toLowerCase() === want) return v;
  return undefined;
}

/**
 * Parses a file's JSON; a syntax error names the file, the line and the column.
 *
 * @example
 * parseJsonFile('web.json', '{"Name": "web",}'); // throws 'web.json:1:16: invalid JSON: …'
 */
export function parseJsonFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const { line, column, message } = jsonErrorAt(text, err as Error);
    throw usageError(`${path}:${line}:${column}: invalid JSON: ${message}`);
  }
}

/**
 * The service definitions in a JSON file: a bare definition (`{"Name": "web", …}`, the body of
 * the register call), or Consul's config-file forms `{"service": {…}}` and `{"services": [ … ]}`.
 * Throws `BEACON_ERR_VALIDATION` naming the file when it cannot be read, is not JSON (with the
 * line and column) or holds something else.
 *
 * @example
 * servicesFromFile('web.json'); // [{ Name: 'web', Port: 8080 }]
 */
export function servicesFromFile(path: string): ServiceDefinition[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const doc = parseJsonFile(path, text);
  if (!isObject(doc)) throw usageError(`${path} must hold a JSON object: a service definition, {"service": {...}} or {"services": [...]}`);
  const one = field(doc, 'service');
  const many = field(doc, 'services');
  if (one !== undefined || many !== undefined) {
    const extra = Object.keys(doc).filter((k) => !['service', 'services'].includes(k.replace(/_/g, '').toLowerCase()));
    if (one !== undefined && many !== undefined) throw usageError(`${path}: give either "service" or "services", not both`);
    if (extra.length)
      throw usageError(`${path}: unknown key "${extra[0]}" next to "${one !== undefined ? 'service' : 'services'}"; a file holds only the service definitions`);
    if (one !== undefined && !isObject(one)) throw usageError(`${path}: "service" must be an object (a service definition)`);
    if (many !== undefined && !Array.isArray(many)) throw usageError(`${path}: "services" must be an array of service definitions`);
  }
  const list = one !== undefined ? [one] : many !== undefined ? (many as unknown[]) : [doc];
  if (list.length === 0) throw usageError(`${path} defines no service`);
  list.forEach((s, i) => {
    if (!isObject(s)) throw usageError(`${path}: services[${i}] must be an object`);
  });
  return list as ServiceDefinition[];
}

/** The fields of a struct: its names, and for nested structs (Check, Weights, …) their own fields. */
export interface KeyShape {
  readonly fields: readonly string[];
  readonly nested?: Readonly<Record<string, KeyShape>>;
  readonly aliases?: Readonly<Record<string, string>>;
}

const fold = (k: string) => k.replace(/[_-]/g, '').toLowerCase();

/**
 * The first key of `value` (walking nested structs) that names no field of `shape`, as
 * `Check.Intervl`, with the field it most likely meant; undefined when every key is known. Keys
 * match in any case and with or without underscores, as the API matches them.
 *
 * @example
 * unknownKey({ Name: 'web', Chek: {} }, SERVICE_SHAPE); // { path: 'Chek', suggestion: 'Check' }
 */
export function unknownKey(value: unknown, shape: KeyShape, path = ''): { path: string; suggestion: string | undefined } | undefined {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = unknownKey(v, shape, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const known = new Map<string, string>([
    ...shape.fields.map((f): [string, string] => [fold(f), f]),
    ...Object.entries(shape.aliases ?? {}).map(([a, f]): [string, string] => [fold(a), f]),
  ]);
  for (const [k, v] of Object.entries(value)) {
    const canon = known.get(fold(k));
    const at = path ? `${path}.${k}` : k;
    if (canon === undefined) return { path: at, suggestion: didYouMean(k, shape.fields) };
    const sub = shape.nested?.[canon];
    const found = sub ? unknownKey(v, sub, at) : undefined;
    if (found) return found;
  }
  return undefined;
}

/** The definition's name, or '' (the server then answers `Missing service name`). */
export function serviceName(def: ServiceDefinition): string {
  const v = field(def, 'name');
  return typeof v === 'string' ? v : '';
}

/** The definition's ID, which defaults to its name as on the server. */
export function serviceId(def: ServiceDefinition): string {
  const v = field(def, 'id');
  return typeof v === 'string' && v !== '' ? v : serviceName(def);
}
