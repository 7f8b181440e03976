import { Command, Option } from 'commander';
import { resolveTls } from './api-client.js';
import { collect } from './flags.js';
import { EXIT_FAILURE, EXIT_USAGE } from './usage-errors.js';

interface GatewayFlags {
  listen?: string;
  server?: string[];
  routes?: string;
  admin?: string;
  accessLog?: boolean;
  strategy?: string;
  retries?: string;
  tryTimeout?: string;
  timeout?: string;
  shutdownGrace?: string;
  domain?: string;
  datacenter?: string;
  upstream?: string[];
  token?: string;
  caFile?: string;
  clientCert?: string;
  clientKey?: string;
  failover?: string[];
}

type Mode = 'gateway' | 'sidecar';

/** Runs the gateway or the sidecar in this process until SIGTERM/SIGINT; SIGHUP reloads the routes file. */
async function run(mode: Mode, flags: GatewayFlags): Promise<void> {
  // Loaded here, not at the top: other commands start without the gateway's stack.
  const { buildGatewayConfig, runGateway } = await import('../gateway/index.js');
  const { isBeaconError } = await import('../errors/index.js');
  const { formatHostPort } = await import('../config/index.js');
  let gw: Awaited<ReturnType<typeof runGateway>>;
  try {
    const { caFile, clientCert, clientKey, ...rest } = flags;
    const tls = resolveTls({ caFile, clientCert, clientKey }, process.env);
    const config = buildGatewayConfig({ ...rest, server: flags.server, ...(tls ? { tls } : {}) }, mode);
    gw = await runGateway(config);
  } catch (err) {
    const usage =
      (isBeaconError(err) && (err.code === 'BEACON_ERR_CONFIG' || err.code === 'BEACON_ERR_GATEWAY_ROUTES')) ||
      (err as { code?: string }).code === 'BEACON_ERR_VALIDATION';
    process.stderr.write(`beacon: ${(err as Error).message}\n`);
    process.exit(usage ? EXIT_USAGE : EXIT_FAILURE);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`beacon: ${signal} received, finishing in-flight requests\n`);
    gw.close().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`beacon: shutdown failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    void gw.reloadRoutes().then((err) => {
      process.stderr.write(err ? `beacon: ${err.message}; keeping the previous routes\n` : `beacon: routes reloaded (${gw.table().routes.length} routes)\n`);
    });
  });
  const parts = [`beacon ${mode} ready`];
  if (gw.listen) parts.push(`listen=${formatHostPort(gw.listen)}`);
  for (const s of gw.sidecar) parts.push(`upstream=${s.spec.name}@${formatHostPort(s.address)}`);
  parts.push(`admin=${gw.admin ? formatHostPort(gw.admin) : 'off'}`);
  process.stdout.write(`${parts.join(' ')}\n`);
}

function common(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'Beacon server or agent to discover through, tried in order with failover (repeatable; default http://127.0.0.1:8500)', collect)
    .option('--admin <host:port>', 'admin address: GET /routes, /upstreams, /metrics, /healthz (default off)')
    .addOption(
      new Option('--strategy <name>', 'balancing strategy (default p2c-ewma)').choices([
        'p2c-ewma',
        'least-in-flight',
        'round-robin',
        'random',
        'weighted',
        'consistent-hash',
      ]),
    )
    .option('--try-timeout <duration>', 'per instance: time to response headers, or to a TCP connection (default 10s)')
    .option('--shutdown-grace <duration>', 'on SIGTERM, how long in-flight requests and connections may finish (default 10s)')
    .option('--datacenter <dc>', "datacenter of routes that name none (default the server's own)")
    .option('--domain <domain>', 'DNS domain of service host names (default consul)')
    .addOption(new Option('--token <token>', 'ACL token sent to Beacon (default $BEACON_HTTP_TOKEN)').env('BEACON_HTTP_TOKEN'))
    .option('--ca-file <file>', "PEM CA that signs an https:// server's certificate (default $BEACON_CACERT, else $CONSUL_CACERT)")
    .option('--client-cert <file>', 'PEM client certificate for servers that require one, with --client-key')
    .option('--client-key <file>', 'PEM key of --client-cert');
}

/** `beacon gateway`: the HTTP reverse proxy. */
export function gatewayCommand(): Command {
  return common(
    new Command('gateway')
      .description('Run an HTTP reverse proxy that routes by service name over healthy instances')
      .option('--listen <host:port>', 'address the proxy takes requests on (required)'),
  )
    .option('--routes <file>', 'JSON routes file: path prefix -> service (reloaded on SIGHUP)')
    .option(
      '--failover <dcs>',
      'datacenters to send a request to, in order, when the service has no healthy instance in its own (dc2,dc3; repeatable)',
      collect,
    )
    .option('--access-log', 'one JSON line per request on stdout (default off)')
    .option('--retries <n>', 'extra tries of an idempotent request on other instances, 0 to 5 (default 2)')
    .option('--timeout <duration>', 'time to response headers over all tries (default 30s)')
    .addHelpText(
      'after',
      `
Routing: a Host of <svc>.service.consul, <svc>.service.<dc>.consul or <tag>.<svc>.service.consul
names the service; other hosts go by path routes: the --routes file and urlprefix- tags on
instances (urlprefix-/api, urlprefix-shop.example.com/, "urlprefix-/api strip=/api").
Unknown service: 404; no healthy instance: 503 (JSON {code, message}).

Examples:
  beacon gateway --listen 127.0.0.1:8080 --server http://127.0.0.1:8500 --admin 127.0.0.1:8081
  curl -H 'Host: web.service.consul' http://127.0.0.1:8080/
  curl http://127.0.0.1:8081/routes`,
    )
    .action((flags: GatewayFlags) => run('gateway', flags));
}

/** `beacon sidecar`: a local TCP listener per upstream service. */
export function sidecarCommand(): Command {
  return common(
    new Command('sidecar')
      .description('Run a local TCP forwarder per upstream service (databases, gRPC, anything not HTTP/1.1)')
      .option('--upstream <name=host:port>', 'listen on host:port and forward each connection to a healthy instance of name (repeatable)', collect),
  )
    .addHelpText(
      'after',
      `
The name may be a service (payments) or a DNS-style name with tag and datacenter
(v2.payments.service.dc2.consul). A refused connection is tried on another instance.

Examples:
  beacon sidecar --server http://127.0.0.1:8500 --upstream payments=127.0.0.1:9191
  beacon sidecar --upstream db=127.0.0.1:5432 --upstream cache=127.0.0.1:6379 --admin 127.0.0.1:9190`,
    )
    .action((flags: GatewayFlags) => run('sidecar', flags));
}
