import { Command } from 'commander';
import { createRequire } from 'node:module';
import { serverCommand } from './server-command.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The `beacon` command line. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('beacon')
    .description('Beacon: service discovery with a Consul-compatible HTTP API and DNS')
    .version(pkg.version, '-v, --version')
    .showHelpAfterError()
    .addCommand(serverCommand());
  await program.parseAsync(argv);
}
