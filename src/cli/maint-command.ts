import type { Command } from 'commander';
import { clientAction, clientCommand, type HttpAddrOption } from './client-command.js';
import { usageError } from './flags.js';

interface MaintOptions extends HttpAddrOption {
  enable?: boolean;
  disable?: boolean;
  service?: string;
  reason?: string;
}

interface AgentCheck {
  Node?: string;
  CheckID?: string;
  ServiceID?: string;
  Notes?: string;
}

/** The `consul maint` listing: the node and the services in maintenance, from the agent's checks. */
export function maintenanceListing(checks: Record<string, AgentCheck>): string {
  let text = '';
  for (const c of Object.values(checks)) {
    if (c.CheckID === '_node_maintenance') text += `Node:\n  Name:   ${c.Node ?? ''}\n  Reason: ${c.Notes ?? ''}\n\n`;
    else if (c.CheckID?.startsWith('_service_maintenance:')) text += `Service:\n  ID:     ${c.ServiceID ?? ''}\n  Reason: ${c.Notes ?? ''}\n\n`;
  }
  return text;
}

/** `beacon maint`: node or service maintenance mode, like `consul maint`. */
export function maintCommand(): Command {
  return clientCommand('maint', 'Put the node or one service in maintenance mode, take it out, or show what is in maintenance', [
    'beacon maint --enable --reason "kernel upgrade"',
    'beacon maint --enable --service web-1 --reason "deploying v2"',
    'beacon maint --disable --service web-1',
    'beacon maint            # list the node and services in maintenance',
  ])
    .option('--enable', 'enable maintenance mode (a critical check takes the node or service out of results)')
    .option('--disable', 'disable maintenance mode')
    .option('--service <id>', 'act on this service ID instead of the whole node')
    .option('--reason <text>', "why, shown in the check's Notes (with --enable)")
    .action(
      clientAction<MaintOptions>(async ({ api, out }, opts) => {
        if (opts.enable && opts.disable) throw usageError('maint takes only one of --enable or --disable');
        if (!opts.enable && opts.reason !== undefined) throw usageError('maint takes --reason only with --enable');
        if (!opts.enable && !opts.disable) {
          if (opts.service !== undefined) throw usageError('maint --service needs --enable or --disable');
          const checks = await api.json<Record<string, AgentCheck>>({ path: '/v1/agent/checks', what: 'listing checks' });
          return out(maintenanceListing(checks ?? {}));
        }
        const enable = Boolean(opts.enable);
        const query = { enable: String(enable), reason: opts.reason };
        const state = enable ? 'enabled' : 'disabled';
        if (opts.service === undefined) {
          await api.send({ method: 'PUT', path: '/v1/agent/maintenance', query, what: `${enable ? 'enabling' : 'disabling'} node maintenance` });
          return out(`Node maintenance is now ${state}\n`);
        }
        const id = opts.service;
        await api.send({
          method: 'PUT',
          path: `/v1/agent/service/maintenance/${encodeURIComponent(id)}`,
          query,
          what: `${enable ? 'enabling' : 'disabling'} maintenance of service "${id}"`,
        });
        out(`Service maintenance is now ${state} for ${JSON.stringify(id)}\n`);
      }),
    );
}
