import { Command } from 'commander';
import { ApiClient, resolveHttpAddr } from './api-client.js';

/** What every client command's action gets: the server connection and the output streams. */
export interface CliContext {
  readonly api: ApiClient;
  /** Writes to stdout. */
  readonly out: (text: string) => void;
  /** Writes a note to stderr (not an error: the exit code stays 0). */
  readonly note: (text: string) => void;
  /** For commands that run until stopped: from now on SIGINT/SIGTERM abort the returned signal instead of ending the process. */
  readonly untilStopped: () => AbortSignal;
}

/** Options every client command takes. */
export interface HttpAddrOption {
  httpAddr?: string;
}

/**
 * A command that talks to a running server: `--http-addr` (default `$BEACON_HTTP_ADDR`, else
 * `$CONSUL_HTTP_ADDR`, else 127.0.0.1:8500) and an Examples section in `--help`.
 *
 * @example
 * clientCommand('members', 'List the cluster members', ['beacon members'])
 *   .action(clientAction(async ({ api, out }) => out('...')));
 */
export function clientCommand(name: string, description: string, examples: readonly string[]): Command {
  return new Command(name)
    .description(description)
    .option('--http-addr <host:port>', 'Beacon HTTP API address (default $BEACON_HTTP_ADDR, else $CONSUL_HTTP_ADDR, else 127.0.0.1:8500)')
    .configureOutput({ outputError: (text, write) => write(`beacon: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError('(add --help for the usage and examples)')
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
}

/**
 * Wraps a command's action: resolves the server address, runs `fn` with the command's options
 * and positional arguments, and turns any error into one line on stderr (`beacon: …`) and exit
 * code 1. Success leaves the exit code at 0.
 */
export function clientAction<O extends HttpAddrOption>(fn: (ctx: CliContext, opts: O, args: unknown[]) => Promise<void>) {
  return async (...xs: unknown[]): Promise<void> => {
    const cmd = xs[xs.length - 1] as Command;
    const opts = cmd.opts<O>();
    // `beacon watch ... | head -1`: a closed pipe ends the command quietly, as for any Unix tool.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    });
    let api: ApiClient | undefined;
    try {
      api = new ApiClient(resolveHttpAddr(opts.httpAddr, process.env));
      await fn(
        {
          api,
          out: (text) => void process.stdout.write(text),
          note: (text) => void process.stderr.write(text),
          untilStopped: stopSignal,
        },
        opts,
        cmd.processedArgs,
      );
    } catch (err) {
      process.stderr.write(`beacon: ${errorLine(err)}\n`);
      process.exitCode = 1;
    } finally {
      await api?.close();
    }
  };
}

/** Any error as one line: its message (typed errors already say what failed and why). */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** An AbortSignal that fires on the first SIGINT or SIGTERM (which then no longer end the process at once). */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return controller.signal;
}
