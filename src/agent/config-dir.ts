import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildAgentCheck, buildService, buildServiceChecks, type CheckRecord, type RegistrationPolicy, type ServiceRecord } from '../catalog/index.js';
import { decodeCheckDefinition, decodeServiceDefinition } from '../api/http/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';

/** The services and checks the config dir defines, fully validated. */
export interface Definitions {
  services: Array<{ service: ServiceRecord; checks: CheckRecord[] }>;
  checks: CheckRecord[];
}

const MAX_FILES = 1000;
const MAX_FILE_BYTES = 4 << 20;

/**
 * Reads every `*.json` of the config dir, in name order, in Consul's shapes: `{"service": {…}}`,
 * `{"services": [{…}]}`, `{"check": {…}}`, `{"checks": [{…}]}`, with the agent API's decoding and
 * registration rules. Any error names the file and the field (BEACON_ERR_CONFIG); nothing is
 * returned then, so a caller changes nothing.
 */
export async function loadConfigDir(dir: string, node: string, policy: RegistrationPolicy): Promise<Definitions> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    throw new BeaconError('BEACON_ERR_CONFIG', `cannot read the config dir ${dir}: ${(err as Error).message}`, { field: 'configDir', cause: err });
  }
  if (names.length > MAX_FILES) throw new BeaconError('BEACON_ERR_CONFIG', `the config dir ${dir} holds more than ${MAX_FILES} files`, { field: 'configDir' });
  const out: Definitions = { services: [], checks: [] };
  const rawChecks: Array<{ file: string; field: string; body: unknown }> = [];
  const ids = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const named = (field: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        if (!isBeaconError(err)) throw err;
        const where = err.field && !field.endsWith(err.field) ? `${field}.${err.field}` : field;
        throw new BeaconError('BEACON_ERR_CONFIG', `${file}: ${where}: ${err.message}`, { field: where, cause: err });
      }
    };
    const text = await readFile(file, 'utf8');
    if (text.length > MAX_FILE_BYTES) throw new BeaconError('BEACON_ERR_CONFIG', `${file}: larger than ${MAX_FILE_BYTES} bytes`, { field: 'file' });
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new BeaconError('BEACON_ERR_CONFIG', `${file}: not valid JSON: ${(err as Error).message}`, { field: 'file' });
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new BeaconError('BEACON_ERR_CONFIG', `${file}: must be a JSON object`, { field: 'file' });
    const d = doc as Record<string, unknown>;
    const known = ['service', 'services', 'check', 'checks'];
    for (const k of Object.keys(d))
      if (!known.includes(k))
        throw new BeaconError('BEACON_ERR_CONFIG', `${file}: ${k}: unknown key (expected service, services, check or checks)`, { field: k });
    const list = (k: string): Array<[string, unknown]> => {
      const v = d[k];
      if (v === undefined) return [];
      if (k === 'service' || k === 'check') return [[k, v]];
      if (!Array.isArray(v)) throw new BeaconError('BEACON_ERR_CONFIG', `${file}: ${k}: must be a list`, { field: k });
      return v.map((x, i) => [`${k}[${i}]`, x]);
    };
    for (const [field, body] of [...list('service'), ...list('services')]) {
      named(field, () => {
        const b = decodeServiceDefinition(body);
        const svc = buildService(b);
        const prev = ids.get(svc.ID);
        if (prev) throw new BeaconError('BEACON_ERR_VALIDATION', `service ID ${JSON.stringify(svc.ID)} is defined twice (also in ${prev})`, { field: 'ID' });
        ids.set(svc.ID, file);
        out.services.push({ service: svc, checks: buildServiceChecks(b, svc, node, policy) });
      });
    }
    for (const [field, body] of [...list('check'), ...list('checks')]) rawChecks.push({ file, field, body });
  }
  for (const { file, field, body } of rawChecks) {
    try {
      const b = decodeCheckDefinition(body);
      const sid = typeof b.ServiceID === 'string' ? b.ServiceID : '';
      const svc = sid ? out.services.find((s) => s.service.ID === sid)?.service : undefined;
      if (sid && !svc)
        throw new BeaconError('BEACON_ERR_VALIDATION', `ServiceID ${JSON.stringify(sid)} is not defined in the config dir`, { field: 'ServiceID' });
      out.checks.push(buildAgentCheck(b, node, svc, policy));
    } catch (err) {
      if (!isBeaconError(err)) throw err;
      const where = err.field ? `${field}.${err.field}` : field;
      throw new BeaconError('BEACON_ERR_CONFIG', `${file}: ${where}: ${err.message}`, { field: where, cause: err });
    }
  }
  return out;
}
