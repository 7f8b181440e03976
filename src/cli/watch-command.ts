import { Option, type Command } from 'commander';
import { isBeaconClientError } from '../client/index.js';
import { parseBody, type Query } from './api-client.js';
import { clientAction, clientCommand, errorLine, type HttpAddrOption } from './client-command.js';
import { collect, usageError } from './flags.js';
import { watchLoop } from './watch-loop.js';

/** How long the server may hold each blocking query. */
const WAIT_MS = 60_000;

interface WatchOptions extends HttpAddrOption {
  type: 'service' | 'services' | 'nodes';
  service?: string;
  passing?: boolean;
  tag?: string[];
}

/** The route and query a watch type reads. */
export function watchTarget(opts: WatchOptions): { path: string; query: Query; what: string } {
  if (opts.type === 'service') {
    if (!opts.service) throw usageError('watch --type service needs --service NAME');
    return {
      path: `/v1/health/service/${encodeURIComponent(opts.service)}`,
      query: { passing: opts.passing ? true : undefined, tag: opts.tag },
      what: `watching service "${opts.service}"`,
    };
  }
  if (opts.service !== undefined || opts.passing || opts.tag) throw usageError(`watch --type ${opts.type} takes no --service, --passing or --tag`);
  return opts.type === 'services'
    ? { path: '/v1/catalog/services', query: {}, what: 'watching services' }
    : { path: '/v1/catalog/nodes', query: {}, what: 'watching nodes' };
}

/** `beacon watch`: prints the watched view as JSON each time it changes, until SIGINT. */
export function watchCommand(): Command {
  return clientCommand('watch', 'Watch a view with blocking queries and print it as JSON each time it changes, until interrupted', [
    'beacon watch --type service --service web',
    'beacon watch --type service --service web --passing --tag v2',
    'beacon watch --type services',
  ])
    .addOption(
      new Option('--type <type>', 'what to watch: service (GET /v1/health/service/NAME), services, nodes')
        .choices(['service', 'services', 'nodes'])
        .makeOptionMandatory(),
    )
    .option('--service <name>', 'the service to watch (with --type service)')
    .option('--passing', 'only instances whose every check is passing (with --type service)')
    .option('--tag <tag>', 'only instances with this tag (repeatable, with --type service)', collect)
    .action(
      clientAction<WatchOptions>(async ({ api, out, note, untilStopped }, opts) => {
        const target = watchTarget(opts);
        await watchLoop({
          signal: untilStopped(),
          async fetch(index, signal) {
            const blocking = index > 0;
            const res = await api.send({
              ...target,
              query: { ...target.query, ...(blocking ? { index: String(index), wait: `${WAIT_MS}ms` } : {}) },
              timeoutMs: blocking ? WAIT_MS + WAIT_MS / 16 + 15_000 : 30_000,
              signal,
            });
            const header = res.headers['x-consul-index'];
            const text = Array.isArray(header) ? header[0] : header;
            return { index: text && /^\d+$/.test(text) ? Number(text) : undefined, body: parseBody(res, target.what) };
          },
          onChange: (body) => out(`${JSON.stringify(body, null, 4)}\n`),
          onRetry: (err, delayMs) => note(`beacon: ${errorLine(err)}; retrying in ${(delayMs / 1000).toFixed(1)}s\n`),
          isFatal: (err) => isBeaconClientError(err, 'BEACON_ERR_REGISTRY_RESPONSE') && err.status !== undefined && err.status >= 400 && err.status < 500,
          // A retryable 503 (the server is shutting down, or cannot reach its store): retried.
          isUnavailable: (err) => isBeaconClientError(err, 'BEACON_ERR_REGISTRY_UNREACHABLE') && err.status === 503,
        });
      }),
    );
}
