import { Command } from 'commander';
import { createRequire } from 'node:module';
import { serverCommand } from './server-command.js';
import { membersCommand, wanFlagAlias } from './members-command.js';
import { catalogCommand } from './catalog-command.js';
import { servicesCommand } from './services-command.js';
import { healthCommand } from './health-command.js';
import { maintCommand } from './maint-command.js';
import { watchCommand } from './watch-command.js';
import { infoCommand } from './info-command.js';
import { runProgram } from './usage-errors.js';
import { devCommand } from './dev-cluster-command.js';
import { aclCommand } from './acl-command.js';
import { gatewayCommand, sidecarCommand } from './gateway-command.js';
import { agentCommand, reloadCommand } from './agent-command.js';
import { eventsCommand } from './events-command.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The `beacon` command line. Exit codes: 0 success, 1 a failure, 2 a usage error (see usage-errors.ts). */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('beacon')
    .description('Beacon: service discovery with a Consul-compatible HTTP API and DNS')
    .version(pkg.version, '-v, --version')
    .addCommand(serverCommand())
    .addCommand(membersCommand())
    .addCommand(catalogCommand())
    .addCommand(servicesCommand())
    .addCommand(healthCommand())
    .addCommand(maintCommand())
    .addCommand(watchCommand())
    .addCommand(infoCommand())
    .addCommand(aclCommand())
    .addCommand(eventsCommand())
    .addCommand(devCommand())
    .addCommand(gatewayCommand())
    .addCommand(sidecarCommand())
    .addCommand(agentCommand())
    .addCommand(reloadCommand());
  await runProgram(program, wanFlagAlias(argv));
}
