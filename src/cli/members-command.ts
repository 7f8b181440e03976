import type { Command } from 'commander';
import { formatHostPort } from '../config/index.js';
import { clientAction, clientCommand } from './client-command.js';
import { formatTable } from './table.js';

/** A member as `GET /v1/agent/members` answers it (the fields this command reads). */
interface Member {
  Name?: string;
  Addr?: string;
  Port?: number;
  Status?: number;
  Tags?: Record<string, string>;
}

/** Serf's member states, as the `consul` CLI names them. */
const STATUS = ['none', 'alive', 'leaving', 'left', 'failed'];

/** One table row per member, as `consul members` prints it (without the Enterprise columns). */
export function memberRows(members: readonly Member[]): string[][] {
  const sorted = [...members].sort((a, b) => {
    const server = Number(b.Tags?.role === 'consul') - Number(a.Tags?.role === 'consul');
    return server || (a.Name ?? '').localeCompare(b.Name ?? '');
  });
  const rows = [['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC']];
  for (const m of sorted) {
    const tags = m.Tags ?? {};
    const build = tags.build ? tags.build.split(':')[0] : '< 0.3';
    const type = tags.role === 'consul' ? 'server' : tags.role === 'node' ? 'client' : 'unknown';
    const known = type !== 'unknown';
    rows.push([
      m.Name ?? '',
      formatHostPort({ host: m.Addr ?? '', port: m.Port ?? 0 }),
      STATUS[m.Status ?? 0] ?? String(m.Status),
      type,
      known ? build : '',
      known ? (tags.vsn ?? '') : '',
      known ? (tags.dc ?? '') : '',
    ]);
  }
  return rows;
}

/** `beacon members`: the cluster's members, like `consul members`; `--wan` (or `-wan`): every datacenter's servers. */
export function membersCommand(): Command {
  return clientCommand('members', 'List the members of the cluster (GET /v1/agent/members)', [
    'beacon members',
    'beacon members --http-addr 10.0.0.5:8500',
    'beacon members -wan',
  ])
    .option('--wan', "list the servers of every datacenter joined over the WAN, named <node>.<dc> (also -wan, as consul's CLI)")
    .action(
      clientAction<{ wan?: boolean; httpAddr?: string }>(async ({ api, out }, opts) => {
        const path = opts.wan ? '/v1/agent/members?wan=1' : '/v1/agent/members';
        const members = await api.json<Member[]>({ path, what: 'listing members' });
        out(formatTable(memberRows(Array.isArray(members) ? members : [])));
      }),
    );
}

/** Consul's single-dash `-wan` after `members`, as `--wan`. */
export function wanFlagAlias(argv: readonly string[]): string[] {
  const at = argv.indexOf('members');
  return at < 0 ? [...argv] : argv.map((a, i) => (i > at && a === '-wan' ? '--wan' : a));
}
