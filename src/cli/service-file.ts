import { readFileSync } from 'node:fs';
import { usageError } from './flags.js';

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
 * The service definitions in a JSON file: a bare definition (`{"Name": "web", …}`, the body of
 * the register call), or Consul's config-file forms `{"service": {…}}` and `{"services": [ … ]}`.
 * Throws `BEACON_ERR_VALIDATION` naming the file when it cannot be read or holds something else.
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
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw usageError(`${path} must hold a JSON object: a service definition, {"service": {...}} or {"services": [...]}`);
  const one = field(doc, 'service');
  const many = field(doc, 'services');
  const list = isObject(one) ? [one] : Array.isArray(many) ? many : [doc];
  if (list.length === 0) throw usageError(`${path} defines no service`);
  list.forEach((s, i) => {
    if (!isObject(s)) throw usageError(`${path}: services[${i}] must be an object`);
  });
  return list as ServiceDefinition[];
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
