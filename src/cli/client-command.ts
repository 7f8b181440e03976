import { Command } from 'commander';
import { isBeaconClientError } from '../client/index.js';
import { ApiClient, resolveDatacenter, resolveHttpAddr, resolveTls, resolveToken } from './api-client.js';
import { EXIT_FAILURE, EXIT_USAGE } from './usage-errors.js';

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
  caFile?: string;
  clientCert?: string;
  clientKey?: string;
  token?: string;
  datacenter?: string;
}

/**
 * A command that talks to a running server: `--http-addr` (default `$BEACON_HTTP_ADDR`, else
 * `$CONSUL_HTTP_ADDR`, else 127.0.0.1:8500), `--token` (default `$BEACON_HTTP_TOKEN`, else
 * `$CONSUL_HTTP_TOKEN`) and `--datacenter`, as the consul CLI has them, and an Examples section
 * in `--help`.
 *
 * @example
 * clientCommand('members', 'List the cluster members', ['beacon members'])
 *   .action(clientAction(async ({ api, out }) => out('...')));
 */
export function clientCommand(name: string, description: string, examples: readonly string[]): Command {
  return new Command(name)
    .description(description)
    .option('--http-addr <host:port>', 'Beacon HTTP API address (default $BEACON_HTTP_ADDR, else $CONSUL_HTTP_ADDR, else 127.0.0.1:8500)')
    .option('--token <token>', 'ACL token, sent as X-Consul-Token (default $BEACON_HTTP_TOKEN, else $CONSUL_HTTP_TOKEN)')
    .option('--datacenter <name>', "datacenter to ask (default the server's own)")
    .option('--ca-file <file>', 'PEM CA bundle that signs the server certificate, for an https:// --http-addr (default $BEACON_CACERT, else $CONSUL_CACERT)')
    .option('--client-cert <file>', 'PEM client certificate for servers that require one (default $BEACON_CLIENT_CERT, else $CONSUL_CLIENT_CERT)')
    .option('--client-key <file>', 'PEM key of --client-cert (default $BEACON_CLIENT_KEY, else $CONSUL_CLIENT_KEY)')
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
}

/**
 * Wraps a command's action: resolves the server address, token and datacenter, runs `fn` with
 * the command's options and positional arguments, and turns any error into one line on stderr
 * (`beacon: …`): exit code 2 for a usage error found before anything was sent
 * (`BEACON_ERR_VALIDATION`: a bad flag value, an unreadable or invalid file), 1 for a failure
 * (the server refused or could not be reached). Success leaves the exit code at 0.
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
      api = new ApiClient(resolveHttpAddr(opts.httpAddr, process.env), {
        token: resolveToken(opts.token, process.env),
        datacenter: resolveDatacenter(opts.datacenter),
        tls: resolveTls(opts, process.env),
      });
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
      process.exitCode = isBeaconClientError(err, 'BEACON_ERR_VALIDATION') ? EXIT_USAGE : EXIT_FAILURE;
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
