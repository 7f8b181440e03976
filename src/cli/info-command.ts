import type { Command } from 'commander';
import { clientAction, clientCommand } from './client-command.js';

type Section = Record<string, unknown>;

/**
 * `consul info`'s layout: one `name:` line per section, then `\tkey = value` lines, sections and
 * keys sorted. The agent's Config comes first as `config`, then every section of Stats. Values
 * that are objects are left out.
 *
 * @example
 * formatInfo({ Config: { Datacenter: 'dc1' }, Stats: { catalog: { nodes: '1' } } });
 * // 'config:\n\tDatacenter = dc1\ncatalog:\n\tnodes = 1\n'
 */
export function formatInfo(self: { Config?: Section; Stats?: Record<string, Section> }): string {
  const sections: [string, Section][] = [['config', self.Config ?? {}], ...Object.entries(self.Stats ?? {}).sort(([a], [b]) => a.localeCompare(b))];
  let text = '';
  for (const [name, values] of sections) {
    text += `${name}:\n`;
    for (const key of Object.keys(values ?? {}).sort()) {
      const v = values[key];
      if (v === null || typeof v !== 'object') text += `\t${key} = ${String(v)}\n`;
    }
  }
  return text;
}

/** `beacon info`: the server's configuration and statistics, like `consul info`. */
export function infoCommand(): Command {
  return clientCommand('info', "Show the server's configuration and statistics (GET /v1/agent/self)", [
    'beacon info',
    'beacon info --http-addr 10.0.0.5:8500',
  ]).action(
    clientAction(async ({ api, out }) => {
      const self = await api.json<{ Config?: Section; Stats?: Record<string, Section> }>({ path: '/v1/agent/self', what: 'reading the agent' });
      out(formatInfo(self ?? {}));
    }),
  );
}
