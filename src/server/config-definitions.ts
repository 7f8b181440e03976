import type { FastifyInstance } from 'fastify';
import type { RuntimeConfig } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import { LOCAL_DEFINITION_HEADER } from '../api/http/index.js';

/**
 * Registers the services and checks of the config file (Consul's `services` / `checks` agent
 * config) through the server's own routes — the same validation, the same records — marked with
 * the per-process secret so --enable-local-script-checks lets their script checks through.
 * A definition the API would refuse stops the start with BEACON_ERR_CONFIG naming it.
 */
export async function registerConfigDefinitions(app: FastifyInstance, config: RuntimeConfig, secret: string): Promise<void> {
  const { services, checks } = config.definitions;
  const put = async (url: string, body: unknown, field: string) => {
    const r = await app.inject({ method: 'PUT', url, payload: JSON.stringify(body ?? null), headers: { [LOCAL_DEFINITION_HEADER]: secret } });
    if (r.statusCode !== 200) {
      throw new BeaconError('BEACON_ERR_CONFIG', `invalid ${field} in the config file: ${r.body || `HTTP ${r.statusCode}`}`, { field });
    }
  };
  for (const [i, s] of services.entries()) await put('/v1/agent/service/register', s, `services[${i}]`);
  for (const [i, c] of checks.entries()) await put('/v1/agent/check/register', c, `checks[${i}]`);
}
