import { Command } from 'commander';
import { clientAction, clientCommand, type HttpAddrOption } from './client-command.js';
import { collect, nodeMetaQuery } from './flags.js';
import { formatTable } from './table.js';

interface CatalogNode {
  ID?: string;
  Node?: string;
  Address?: string;
  Datacenter?: string;
}

interface NodeServices {
  Services?: Record<string, { Service?: string; Tags?: string[] }>;
}

/** Rows of `catalog nodes`: Node, the first 8 characters of its ID, Address, DC. */
export function nodeRows(nodes: readonly CatalogNode[]): string[][] {
  return [['Node', 'ID', 'Address', 'DC'], ...nodes.map((n) => [n.Node ?? '', (n.ID ?? '').slice(0, 8), n.Address ?? '', n.Datacenter ?? ''])];
}

/** Service names sorted, with their tags (deduplicated, sorted). */
export function servicesOf(map: Record<string, readonly string[]>): [string, string[]][] {
  return Object.keys(map)
    .sort()
    .map((name) => [name, [...new Set(map[name] ?? [])].sort()]);
}

function datacenters(): Command {
  return clientCommand('datacenters', 'List the known datacenters (GET /v1/catalog/datacenters)', ['beacon catalog datacenters']).action(
    clientAction(async ({ api, out }) => {
      const dcs = await api.json<string[]>({ path: '/v1/catalog/datacenters', what: 'listing datacenters' });
      for (const dc of dcs ?? []) out(`${dc}\n`);
    }),
  );
}

interface NodesOptions extends HttpAddrOption {
  service?: string;
  nodeMeta?: string[];
}

function nodes(): Command {
  return clientCommand('nodes', 'List the nodes of the catalog (GET /v1/catalog/nodes, or /v1/catalog/service/NAME with --service)', [
    'beacon catalog nodes',
    'beacon catalog nodes --service web',
    'beacon catalog nodes --node-meta rack=r1 --node-meta zone=a',
  ])
    .option('--service <name>', 'only nodes that run an instance of this service')
    .option('--node-meta <key=value>', 'only nodes with this metadata (repeatable: all must match)', collect)
    .action(
      clientAction<NodesOptions>(async ({ api, out, note }, opts) => {
        const query = { 'node-meta': nodeMetaQuery(opts.nodeMeta) };
        const list = opts.service
          ? await api.json<CatalogNode[]>({
              path: `/v1/catalog/service/${encodeURIComponent(opts.service)}`,
              query,
              what: `listing nodes of service "${opts.service}"`,
            })
          : await api.json<CatalogNode[]>({ path: '/v1/catalog/nodes', query, what: 'listing nodes' });
        if (!list?.length) return note('No nodes match the given query - try expanding your search.\n');
        out(formatTable(nodeRows(list)));
      }),
    );
}

interface ServicesOptions extends HttpAddrOption {
  tags?: boolean;
  node?: string;
  nodeMeta?: string[];
}

function services(): Command {
  return clientCommand('services', 'List the services of the catalog (GET /v1/catalog/services, or /v1/catalog/node/NAME with --node)', [
    'beacon catalog services',
    'beacon catalog services --tags',
    'beacon catalog services --node node-1',
  ])
    .option('--tags', "show each service's tags, comma-separated")
    .option('--node <name>', 'only the services of this node')
    .option('--node-meta <key=value>', 'only services on nodes with this metadata (repeatable)', collect)
    .action(
      clientAction<ServicesOptions>(async ({ api, out, note }, opts) => {
        const query = { 'node-meta': nodeMetaQuery(opts.nodeMeta) };
        let map: Record<string, string[]> = {};
        if (opts.node) {
          const node = await api.json<NodeServices | null>({
            path: `/v1/catalog/node/${encodeURIComponent(opts.node)}`,
            query,
            what: `listing services of node "${opts.node}"`,
          });
          for (const s of Object.values(node?.Services ?? {})) if (s.Service) map[s.Service] = [...(map[s.Service] ?? []), ...(s.Tags ?? [])];
        } else {
          map = (await api.json<Record<string, string[]>>({ path: '/v1/catalog/services', query, what: 'listing services' })) ?? {};
        }
        const list = servicesOf(map);
        if (list.length === 0) return note('No services match the given query - try expanding your search.\n');
        if (opts.tags)
          out(
            formatTable(
              list.map(([name, tags]) => [name, tags.join(',')]),
              6,
            ),
          );
        else for (const [name] of list) out(`${name}\n`);
      }),
    );
}

/** `beacon catalog datacenters|nodes|services`, like `consul catalog`. */
export function catalogCommand(): Command {
  return new Command('catalog')
    .description('Read the catalog: datacenters, nodes, services')
    .addCommand(datacenters())
    .addCommand(nodes())
    .addCommand(services())
    .addHelpText('after', '\nExamples:\n  beacon catalog services --tags\n  beacon catalog nodes --service web');
}
