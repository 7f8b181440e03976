import { isBeaconError } from '../errors/index.js';
import { usageError } from './flags.js';
import { unknownKey, type ServiceDefinition } from './service-file.js';

/** A definition to register and where it came from, for messages: `web.json`, `all.json: services[1]`, `flags`. */
export interface PlacedDefinition {
  readonly def: ServiceDefinition;
  readonly where: string;
}

/**
 * Checks every definition before any is sent, with the server's own decoding and registration
 * rules (the same ones `PUT /v1/agent/service/register` applies), and refuses keys that name no
 * field (`"Chek"`), which the API would ignore. Throws `BEACON_ERR_VALIDATION` naming the file,
 * the service and the field. Script checks pass here: whether the server allows them is its call.
 *
 * @example
 * await checkDefinitions([{ def: { Name: 'web', Chek: { TTL: '30s' } }, where: 'web.json' }]);
 * // throws 'web.json: unknown key "Chek" (did you mean Check?)'
 */
export async function checkDefinitions(defs: readonly PlacedDefinition[]): Promise<void> {
  // Loaded here: only `services register` needs the server's rules.
  const { decodeServiceDefinition, SERVICE_SHAPE } = await import('../api/http/index.js');
  const { buildService, buildServiceChecks } = await import('../catalog/index.js');
  for (const { def, where } of defs) {
    const unknown = unknownKey(def, SERVICE_SHAPE);
    if (unknown) {
      const meant = unknown.suggestion && unknown.path.replace(/[^.[\]]+$/, unknown.suggestion);
      throw usageError(`${where}: unknown key "${unknown.path}"${meant ? ` (did you mean ${meant}?)` : ''}`);
    }
    try {
      const body = decodeServiceDefinition(def);
      const svc = buildService(body);
      buildServiceChecks(body, svc, 'beacon-cli', { enableScriptChecks: true });
    } catch (err) {
      if (!isBeaconError(err) || err.status !== 400) throw err;
      const fieldNote = err.field && !err.message.includes(err.field) ? ` (field: ${err.field})` : '';
      throw usageError(`${where}: ${err.message}${fieldNote}`);
    }
  }
}
