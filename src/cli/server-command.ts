import { Command, Option } from 'commander';
import { buildConfig, fromEnv, fromFile, mergeRaw, formatHostPort, type RawConfig } from '../config/index.js';
import { isBeaconError } from '../errors/index.js';

interface ServerFlags extends RawConfig {
  config?: string;
  recursor?: string[];
  shutdownGrace?: string;
}

/** Past the grace period, how long the rest of a shutdown (health, catalog, store) may take before the process gives up. */
const SHUTDOWN_HARD_LIMIT_EXTRA_MS = 30_000;

/** `beacon server`: flags > BEACON_* environment > --config file > defaults. */
export function serverCommand(): Command {
  return new Command('server')
    .description('Run a Beacon server: embedded store, catalog, health checks, HTTP API and DNS')
    .option('--config <file>', 'JSON config file (keys as the flags, in camelCase)')
    .option('--http-addr <host:port>', 'HTTP API address (default 127.0.0.1:8500)')
    .option('--dns-addr <host:port|off>', 'DNS address, UDP and TCP (default 127.0.0.1:8600)')
    .option('--data-dir <dir>', 'where the embedded store keeps its data (default ./data)')
    .option('--datacenter <name>', 'datacenter name (default dc1)')
    .option('--node <name>', "this server's node name (default the host name)")
    .option('--advertise-addr <ip>', 'address published for this node (default the HTTP host, or 127.0.0.1)')
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .option(
      '--store <url>',
      'store: "embedded" (default; in --data-dir), or an etcd cluster: etcd://host:port[,host:port...] (cluster mode), etcd+https://… over TLS',
    )
    .option('--store-prefix <prefix>', 'key prefix of this datacenter in a shared store (default /beacon/<datacenter>/ on etcd)')
    .option('--store-ca <file>', 'etcd+https:// store: PEM CA of the etcd members (default the system roots)')
    .option('--store-cert <file>', 'etcd+https:// store: PEM client certificate, for members started with --client-cert-auth (with --store-key)')
    .option('--store-key <file>', 'etcd+https:// store: PEM key of --store-cert')
    .option('--session-ttl <duration>', 'a server silent this long counts as dead: its checks move to the others (default 10s, 2s to 5m)')
    .option('--max-body-bytes <n>', 'largest request body accepted (default 1048576)')
    .option('--http-max-conns-per-client <n>', 'open HTTP connections one client address may hold; more are closed at once (default 200, 0: no limit)')
    .option(
      '--http-write-rate <n>',
      'writes (PUT, POST, DELETE) per second one client address may make; more answer 429 with Retry-After (default 0: no limit)',
    )
    .option('--domain <domain>', 'DNS domain (default consul)')
    .option('--alt-domain <domain>', 'a second DNS domain answered like --domain')
    .option('--recursor <host:port>', 'forward queries outside the domain to this resolver (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--dns-only-passing', 'DNS answers drop warning instances too (critical ones are always dropped)')
    .option('--dns-service-ttl <ttls>', 'service answer TTL, with per-service overrides: "5s,web=10s,api*=1s" (default 5s)')
    .option('--dns-node-ttl <ttl>', 'node answer TTL (default 0s)')
    .option('--dns-a-record-limit <n>', 'most A/AAAA records in one answer (default 0 = no limit)')
    .option(
      '--dns-rrl-rate <n>',
      'DNS answers per second per client prefix (/24, /56) over UDP; over it answers are dropped or truncated (default 100 when DNS listens off loopback, else 0: off)',
    )
    .option('--dns-rrl-slip <n>', 'every n-th answer over the DNS rate goes out truncated (clients retry over TCP) instead of dropped (default 2; 0: drop all)')
    .option('--enable-script-checks', 'allow script checks (Args) from any registration')
    .option('--enable-local-script-checks', 'allow script checks only from the local config file')
    .option('--check-failures-before-critical <n>', 'consecutive failures before a check turns critical (default 2)')
    .option('--tls-cert <file>', 'PEM certificate (chain): with --tls-key the HTTP API is served over HTTPS on --http-addr; read again on SIGHUP')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA bundle that signs client certificates (and, in cluster mode, the other servers)')
    .option('--tls-verify-incoming', 'require a client certificate signed by --tls-ca on every HTTPS connection (mutual TLS)')
    .addOption(new Option('--acl-default-policy <policy>', 'what a request no ACL rule covers may do (default allow)').choices(['allow', 'deny']))
    .option('--acl-dns-token <secret>', "token whose view DNS answers with (default the anonymous token's)")
    .option('--acl-agent-token <secret>', 'token this server sends on its own calls to other servers (forwarded heartbeats)')
    .option('--allow-metadata-checks', 'let HTTP, TCP and gRPC checks reach link-local metadata addresses (169.254.169.254, fd00:ec2::254)')
    .option(
      '--join-wan <url>',
      "join another datacenter through one of its servers' HTTP API, http://host:port (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--wan-interval <duration>', 'how often servers exchange WAN membership with each other datacenter (default 5s)')
    .option('--event-history <n>', 'events kept in memory for /v1/beacon/events and the UI (default 10000, at least 100)')
    .option('--event-history-age <duration>', 'events older than this leave the history (default 1h, 1m to 168h)')
    .option('--event-sink <url>', 'POST every event to this webhook as batches of JSON lines (at least once; cursor kept in --data-dir)')
    .option('--event-log <file>', 'append every event to this file as JSON lines')
    .option('--recover', "start even though the store's data is damaged: continue with what is readable, set the damage aside and log what was lost")
    .addOption(
      new Option(
        '--shutdown-grace <duration>',
        'on SIGTERM/SIGINT, how long running requests may finish before their connections are cut (default 5s, 1s to 10m)',
      ).env('BEACON_SHUTDOWN_GRACE'),
    )
    .addHelpText(
      'after',
      `
Every flag may also come from the environment as BEACON_<FLAG> (e.g. BEACON_HTTP_ADDR) or from --config.

Examples:
  beacon server
  beacon server --http-addr 0.0.0.0:8500 --data-dir /var/lib/beacon --datacenter eu1
  beacon server --store etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379 --http-addr 0.0.0.0:8500 --advertise-addr 10.0.0.7
  curl -X PUT -d '{"Name":"web","Port":8080}' http://127.0.0.1:8500/v1/agent/service/register
  dig @127.0.0.1 -p 8600 web.service.consul SRV`,
    )
    .action(async (flags: ServerFlags) => {
      try {
        const { config: file, recursor, shutdownGrace, ...rest } = flags;
        const fromFlags: RawConfig = { ...rest, ...(recursor ? { recursors: recursor } : {}) };
        const config = buildConfig(mergeRaw(file ? fromFile(file) : {}, fromEnv(process.env), fromFlags));
        // Loaded here, not at the top: client commands start without the server stack.
        const { runServer, resolveServerOptions } = await import('../server/index.js');
        const options = resolveServerOptions({ shutdownGrace });
        // Signal handlers go in before anything can announce the server: a SIGTERM sent the
        // moment the ready line is read must reach them, not Node's default (exit by signal).
        // One that comes during start-up is acted on once the server is up; a second one exits.
        let server: Awaited<ReturnType<typeof runServer>> | undefined;
        let early: string | undefined;
        let stopping = false;
        const stop = (signal: string) => {
          if (!server) {
            if (early) process.exit(1);
            early = signal;
            process.stderr.write(`beacon: ${signal} received while starting; stopping once started (send it again to exit now)\n`);
            return;
          }
          if (stopping) return;
          stopping = true;
          process.stderr.write(`beacon: ${signal} received, shutting down\n`);
          // close() cuts what is left after the grace period; this only guards against a
          // step that never ends (a hung disk), and says so.
          const limitMs = options.shutdownGraceMs + SHUTDOWN_HARD_LIMIT_EXTRA_MS;
          const force = setTimeout(() => {
            process.stderr.write(`beacon: shutdown did not finish within ${Math.round(limitMs / 1000)}s; exiting\n`);
            process.exit(1);
          }, limitMs);
          force.unref();
          server.close().then(
            () => process.exit(0),
            (err: Error) => {
              process.stderr.write(`beacon: shutdown failed: ${err.message}\n`);
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
        // SIGHUP: read the TLS certificate files again (a renewed certificate without a restart).
        process.on('SIGHUP', () => {
          if (!server || stopping) return;
          try {
            server.reloadTls();
          } catch (err) {
            process.stderr.write(`beacon: SIGHUP: kept the running TLS certificate: ${(err as Error).message}\n`);
          }
        });
        server = await runServer(config, options);
        process.stdout.write(
          `beacon server ready http=${formatHostPort(server.http)} dns=${server.dns ? formatHostPort(server.dns) : 'off'} data-dir=${config.dataDir} datacenter=${config.datacenter} node=${config.node}${server.tls ? ' tls=on' : ''}\n`,
        );
        if (early) stop(early);
      } catch (err) {
        const msg = isBeaconError(err) ? err.message : (err as Error).message;
        process.stderr.write(`beacon: ${msg}\n`);
        process.exit(1);
      }
    });
}
