import { decodeCheckDefinition, decodeServiceDefinition } from '../api/http/index.js';
import { buildAgentCheck, buildService, buildServiceChecks, type RegistrationPolicy } from '../catalog/index.js';
import type { RuntimeConfig } from '../config/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import type { ServerNode } from './local-node.js';

/** Where config-file definitions are registered: a server's own node, or a group's shared node. */
export type DefinitionTarget = Pick<ServerNode, 'name' | 'registerService' | 'registeredService' | 'registerCheck'>;

/**
 * Registers the services and checks of the config file (Consul's `services` / `checks` agent
 * config) on this server's node: the same decoding and registration rules as the agent API,
 * with script checks allowed by --enable-script-checks or --enable-local-script-checks (and
 * marked as the file's, so only they run under the latter). They are kept in the local state
 * as the file's entries: a restart registers the file's current definitions instead of the
 * previous run's, and anti-entropy removes what the file no longer defines. A definition the API
 * would refuse stops the start with BEACON_ERR_CONFIG naming it.
 */
export async function registerConfigDefinitions(local: DefinitionTarget, config: RuntimeConfig): Promise<void> {
  const { services, checks } = config.definitions;
  const policy: RegistrationPolicy = {
    enableScriptChecks: config.checks.enableScriptChecks || config.checks.enableLocalScriptChecks,
    fromLocalFile: true,
  };
  const named = async (field: string, register: () => Promise<void>) => {
    try {
      await register();
    } catch (err) {
      if (!isBeaconError(err) || err.status >= 500) throw err;
      const text = err.field && !err.message.includes(err.field) ? `${err.message} (field: ${err.field})` : err.message;
      throw new BeaconError('BEACON_ERR_CONFIG', `invalid ${field} in the config file: ${text}`, { field, cause: err });
    }
  };
  for (const [i, s] of services.entries()) {
    await named(`services[${i}]`, async () => {
      const body = decodeServiceDefinition(s);
      const svc = buildService(body);
      await local.registerService(svc, buildServiceChecks(body, svc, local.name, policy), { replaceExistingChecks: false, source: 'config' });
    });
  }
  for (const [i, c] of checks.entries()) {
    await named(`checks[${i}]`, async () => {
      const b = decodeCheckDefinition(c);
      const serviceId = typeof b.ServiceID === 'string' ? b.ServiceID : '';
      const svc = serviceId ? local.registeredService(serviceId) : undefined;
      if (serviceId && !svc) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ServiceID ${JSON.stringify(serviceId)} does not exist`, { field: 'ServiceID' });
      await local.registerCheck(buildAgentCheck(b, local.name, svc, policy), 'config');
    });
  }
}
