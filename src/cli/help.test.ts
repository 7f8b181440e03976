import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { catalogCommand } from './catalog-command.js';
import { healthCommand } from './health-command.js';
import { infoCommand } from './info-command.js';
import { maintCommand } from './maint-command.js';
import { membersCommand } from './members-command.js';
import { servicesCommand } from './services-command.js';
import { watchCommand } from './watch-command.js';

/** Every command that runs (the leaves), with its full name. */
function leaves(cmd: Command, prefix = ''): [string, Command][] {
  const name = `${prefix}${cmd.name()}`;
  return cmd.commands.length ? cmd.commands.flatMap((c) => leaves(c, `${name} `)) : [[name, cmd]];
}

function help(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

describe('client command help', () => {
  const roots = [membersCommand(), catalogCommand(), servicesCommand(), healthCommand(), maintCommand(), watchCommand(), infoCommand()];
  const all = roots.flatMap((c) => leaves(c));

  it('covers the commands a consul user expects', () => {
    expect(all.map(([name]) => name)).toEqual([
      'members',
      'catalog datacenters',
      'catalog nodes',
      'catalog services',
      'services register',
      'services deregister',
      'health',
      'maint',
      'watch',
      'info',
    ]);
  });

  it.each(all)('%s has a description, --http-addr, --token, --datacenter and examples', (name, cmd) => {
    const text = help(cmd);
    expect(cmd.description()).not.toBe('');
    expect(text).toContain('--http-addr <host:port>');
    expect(text).toContain('--token <token>');
    expect(text).toContain('--datacenter <name>');
    expect(text).toMatch(new RegExp(`Examples:\\n(  beacon ${name}.*\\n)+`));
  });
});
