import type { Command } from 'commander';
import { formatHostPort } from '../config/index.js';
import { clientAction, clientCommand, type HttpAddrOption } from './client-command.js';
import { collect } from './flags.js';
import { aggregatedStatus, type CheckLike } from './health-status.js';
import { formatTable } from './table.js';

/** One entry of `GET /v1/health/service/:name` (the fields read here). */
export interface HealthEntry {
  Node?: { Node?: string; Address?: string };
  Service?: { ID?: string; Address?: string; Port?: number; Tags?: string[] };
  Checks?: CheckLike[];
}

/** Rows of `beacon health`: Node, ServiceID, Address:Port (the node's address when the service has none), Status, Tags. */
export function healthRows(entries: readonly HealthEntry[]): string[][] {
  const rows = [['Node', 'ServiceID', 'Address', 'Status', 'Tags']];
  for (const e of entries) {
    const host = e.Service?.Address || e.Node?.Address || '';
    rows.push([
      e.Node?.Node ?? '',
      e.Service?.ID ?? '',
      formatHostPort({ host, port: e.Service?.Port ?? 0 }),
      aggregatedStatus(e.Checks),
      (e.Service?.Tags ?? []).join(','),
    ]);
  }
  return rows;
}

interface HealthOptions extends HttpAddrOption {
  passing?: boolean;
  tag?: string[];
}

/** `beacon health <service>`: each instance with its aggregated health. */
export function healthCommand(): Command {
  return clientCommand('health', 'Show the instances of a service and their health (GET /v1/health/service/:name)', [
    'beacon health web',
    'beacon health web --passing --tag v2',
  ])
    .argument('<service>', 'service name')
    .option('--passing', 'only instances whose every check (node checks included) is passing')
    .option('--tag <tag>', 'only instances with this tag (repeatable: all must match)', collect)
    .action(
      clientAction<HealthOptions>(async ({ api, out, note }, opts, [service]) => {
        const name = service as string;
        const entries = await api.json<HealthEntry[]>({
          path: `/v1/health/service/${encodeURIComponent(name)}`,
          query: { passing: opts.passing ? true : undefined, tag: opts.tag },
          what: `reading the health of service "${name}"`,
        });
        if (!entries?.length) return note(`No instances of service "${name}" match the given query.\n`);
        out(formatTable(healthRows(entries)));
      }),
    );
}
