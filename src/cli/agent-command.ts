import { resolveTls } from './api-client.js';
import { Command, Option } from 'commander';
import { fromEnv, fromFile, mergeRaw, formatHostPort } from '../config/index.js';
import { isBeaconError } from '../errors/index.js';
import type { RawAgentConfig } from '../agent/index.js';

interface AgentFlags extends RawAgentConfig {
  config?: string;
  server?: string[];
}

/** `beacon agent`: flags > BEACON_* environment > --config file > defaults. */
export function agentCommand(): Command {
  return new Command('agent')
    .description("Run a Beacon agent on this host: owns the host's services and checks, answers its queries from a cache kept by the servers")
    .option('--server <url>', 'a Beacon server, http://host:port (repeatable: the agent fails over between them)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option('--config <file>', 'JSON config file (keys as the flags, in camelCase)')
    .option('--http-addr <host:port>', 'HTTP API address (default 127.0.0.1:8500)')
    .option('--dns-addr <host:port|off>', 'DNS address, UDP and TCP, answered from the cache (default 127.0.0.1:8600)')
    .option('--domain <domain>', 'DNS domain (default consul)')
    .option('--alt-domain <domain>', 'a second DNS domain answered like --domain')
    .option('--recursor <host:port>', 'forward DNS queries outside the domain to this resolver (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--dns-only-passing', 'DNS answers drop warning instances too (critical ones are always dropped)')
    .option('--dns-service-ttl <ttls>', 'service answer TTL, with per-service overrides: "5s,web=10s,api*=1s" (default 5s)')
    .option('--dns-node-ttl <ttl>', 'node answer TTL (default 0s)')
    .option('--data-dir <dir>', "where the agent keeps its node's services and checks (default ./agent-data)")
    .option('--datacenter <name>', 'datacenter name (default dc1)')
    .option('--node <name>', "this agent's node name (default the host name)")
    .option('--advertise-addr <ip>', 'address published for this node (default the HTTP host, or 127.0.0.1)')
    .option('--config-dir <dir>', 'load service and check definitions from every *.json here; SIGHUP or `beacon reload` re-reads them')
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .option('--session-ttl <duration>', "the agent's node counts as dead this long after its connection to the servers drops (default 10s, 2s to 5m)")
    .option('--max-body-bytes <n>', 'largest request body accepted (default 1048576)')
    .option('--enable-script-checks', 'allow script checks (Args) from any registration')
    .option('--enable-local-script-checks', 'allow script checks only from the config dir')
    .option('--check-failures-before-critical <n>', 'consecutive failures before a check turns critical (default 2)')
    .option('--acl-agent-token <secret>', 'ACL token the agent presents to the servers (needs node write on its node and service write on its services)')
    .option('--ca-file <file>', 'PEM CA of https:// servers (default $BEACON_CACERT, else $CONSUL_CACERT)')
    .option('--client-cert <file>', 'PEM client certificate for servers that require one, with --client-key')
    .option('--client-key <file>', 'PEM key of --client-cert')
    .addHelpText(
      'after',
      `
Every flag may also come from the environment as BEACON_<FLAG> (e.g. BEACON_HTTP_ADDR; BEACON_SERVERS takes a comma-separated list).

Examples:
  beacon agent --server http://10.0.0.1:8500 --server http://10.0.0.2:8500 --node web-7 --advertise-addr 10.0.1.7
  beacon agent --server http://127.0.0.1:8500 --http-addr 127.0.0.1:8501 --data-dir /var/lib/beacon-agent --config-dir /etc/beacon.d
  curl -X PUT -d '{"Name":"web","Port":8080}' http://127.0.0.1:8501/v1/agent/service/register
  beacon reload --http-addr 127.0.0.1:8501`,
    )
    .action(async (flags: AgentFlags) => {
      try {
        const {
          config: file,
          server,
          recursor,
          caFile,
          clientCert,
          clientKey,
          ...rest
        } = flags as AgentFlags & {
          recursor?: string[];
          caFile?: string;
          clientCert?: string;
          clientKey?: string;
        };
        const tls = resolveTls({ caFile, clientCert, clientKey }, process.env);
        const env = fromEnv(process.env) as RawAgentConfig;
        const envServers = process.env.BEACON_SERVERS;
        const raw: RawAgentConfig = {
          ...mergeRaw(file ? fromFile(file) : {}, env, rest),
          ...(server ? { servers: server } : envServers ? { servers: envServers } : {}),
          ...(rest.configDir ? { configDir: rest.configDir } : {}),
          ...(recursor ? { recursors: recursor } : {}),
        };
        const { buildAgentConfig, runAgent } = await import('../agent/index.js');
        const cfg = buildAgentConfig(raw);
        let agent: Awaited<ReturnType<typeof runAgent>> | undefined;
        let stopping = false;
        const stop = (signal: string) => {
          if (!agent) process.exit(1);
          if (stopping) return;
          stopping = true;
          process.stderr.write(`beacon: ${signal} received, shutting down\n`);
          const force = setTimeout(() => process.exit(1), 30_000);
          force.unref();
          agent.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => {
          agent?.reload().then(
            () => process.stderr.write('beacon: config dir reloaded\n'),
            (err: Error) => process.stderr.write(`beacon: reload failed, nothing changed: ${err.message}\n`),
          );
        });
        agent = await runAgent(cfg, tls ? { tls } : {});
        process.stdout.write(
          `beacon agent ready http=${formatHostPort(agent.http)} dns=${agent.dns ? formatHostPort(agent.dns) : 'off'} node=${cfg.base.node} servers=${cfg.servers.join(',')}\n`,
        );
      } catch (err) {
        const msg = isBeaconError(err) ? err.message : (err as Error).message;
        process.stderr.write(`beacon: ${msg}\n`);
        process.exit(1);
      }
    });
}

/** `beacon reload`: asks the agent to re-read its config dir. */
export function reloadCommand(): Command {
  return new Command('reload')
    .description('Ask a running agent to re-read its --config-dir (as SIGHUP does)')
    .option('--http-addr <host:port>', "the agent's HTTP address (default 127.0.0.1:8500)")
    .action(async (flags: { httpAddr?: string }) => {
      const addr = flags.httpAddr ?? process.env.BEACON_HTTP_ADDR ?? '127.0.0.1:8500';
      try {
        const res = await fetch(`http://${addr}/v1/agent/reload`, { method: 'PUT' });
        const text = await res.text();
        if (!res.ok) {
          process.stderr.write(`beacon: reload failed: ${text || res.statusText}\n`);
          process.exit(1);
        }
        process.stdout.write('Configuration reload triggered\n');
      } catch (err) {
        process.stderr.write(`beacon: cannot reach the agent at ${addr}: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });
}
