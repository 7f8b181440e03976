import { Command } from 'commander';
import { clientAction, clientCommand, type HttpAddrOption } from './client-command.js';
import { collect, parseKeyValues, parsePort, usageError } from './flags.js';
import { checkDefinitions, type PlacedDefinition } from './service-check.js';
import { serviceId, serviceName, servicesFromFile, type ServiceDefinition } from './service-file.js';

interface RegisterOptions extends HttpAddrOption {
  name?: string;
  id?: string;
  address?: string;
  port?: string;
  tag?: string[];
  meta?: string[];
}

/** The definition given by flags, checked here so that nothing is sent when one is wrong. */
export function serviceFromFlags(opts: RegisterOptions): ServiceDefinition {
  if (!opts.name) throw usageError('services register needs a FILE or --name (the service name)');
  const def: ServiceDefinition = { Name: opts.name };
  if (opts.id) def.ID = opts.id;
  if (opts.address !== undefined) def.Address = opts.address;
  if (opts.port !== undefined) def.Port = parsePort('--port', opts.port);
  if (opts.tag?.length) def.Tags = opts.tag;
  const meta = parseKeyValues('--meta', opts.meta);
  if (Object.keys(meta).length) def.Meta = meta;
  return def;
}

const DEFINITION_FLAGS = ['name', 'id', 'address', 'port', 'tag', 'meta'] as const;

function register(): Command {
  return clientCommand('register', 'Register services with the agent (PUT /v1/agent/service/register), from JSON files or from flags', [
    'beacon services register --name web --port 8080 --tag v2 --meta version=2.1',
    'beacon services register --name web --id web-1 --address 10.0.0.7 --port 8080',
    'beacon services register web.json      # {"Name":"web","Port":8080,"Check":{"TTL":"30s"}}',
    'beacon services register services.json # {"services":[{"name":"web"},{"name":"api"}]}',
  ])
    .argument('[files...]', 'JSON files, each with a service definition, {"service": {...}} or {"services": [...]}')
    .option('--name <name>', 'service name (required without FILE)')
    .option('--id <id>', 'service ID (default the name)')
    .option('--address <address>', "service address (default the node's)")
    .option('--port <port>', 'service port')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option('--meta <key=value>', 'metadata (repeatable)', collect)
    .action(
      clientAction<RegisterOptions>(async ({ api, out }, opts, [files]) => {
        const paths = (files as string[] | undefined) ?? [];
        if (paths.length && DEFINITION_FLAGS.some((f) => opts[f] !== undefined))
          throw usageError('services register takes FILE or flags (--name, --port, ...), not both');
        const defs: PlacedDefinition[] = paths.length
          ? paths.flatMap((path) => servicesFromFile(path).map((def, i, all) => ({ def, where: all.length > 1 ? `${path}: services[${i}]` : path })))
          : [{ def: serviceFromFlags(opts), where: 'flags' }];
        // Every file whole, every service in it, before anything is registered.
        await checkDefinitions(defs);
        const registered: string[] = [];
        for (const { def } of defs) {
          const name = serviceName(def);
          try {
            await api.send({ method: 'PUT', path: '/v1/agent/service/register', body: def, what: `registering service "${name}"` });
          } catch (err) {
            // Only the server knows some refusals (script checks turned off, ACLs): say what is in already.
            if (registered.length && err instanceof Error) err.message += `; registered before this one: ${registered.join(', ')}`;
            throw err;
          }
          registered.push(serviceId(def));
          out(`Registered service: ${name}\n`);
        }
      }),
    );
}

interface DeregisterOptions extends HttpAddrOption {
  id?: string;
}

function deregister(): Command {
  return clientCommand(
    'deregister',
    'Deregister services from the agent (PUT /v1/agent/service/deregister/:id), by --id or by the JSON files that registered them',
    ['beacon services deregister --id web-1', 'beacon services deregister web.json'],
  )
    .argument('[files...]', 'JSON files as given to `services register`: each service is removed by its ID (or name)')
    .option('--id <id>', 'the service ID to remove')
    .action(
      clientAction<DeregisterOptions>(async ({ api, out }, opts, [files]) => {
        const paths = (files as string[] | undefined) ?? [];
        if (!paths.length && !opts.id) throw usageError('services deregister needs a FILE or --id');
        if (paths.length && opts.id) throw usageError('services deregister takes FILE or --id, not both');
        const ids = opts.id
          ? [opts.id]
          : paths
              .flatMap(servicesFromFile)
              .map(serviceId)
              .filter((id) => id !== '');
        for (const id of ids) {
          await api.send({ method: 'PUT', path: `/v1/agent/service/deregister/${encodeURIComponent(id)}`, what: `deregistering service "${id}"` });
          out(`Deregistered service: ${id}\n`);
        }
      }),
    );
}

/** `beacon services register|deregister`, like `consul services`. */
export function servicesCommand(): Command {
  return new Command('services')
    .description('Register and deregister services with the agent')
    .addCommand(register())
    .addCommand(deregister())
    .addHelpText('after', '\nExamples:\n  beacon services register --name web --port 8080\n  beacon services deregister --id web');
}
