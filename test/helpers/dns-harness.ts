/**
 * An in-process DNS server on a real embedded store and catalog in a temp dir, with helpers
 * to register nodes, services and checks. Call close() in afterAll (removes the temp dir).
 */
import { rmSync } from 'node:fs';
import { Catalog, type CheckRecord, type HealthStatus } from '../../src/catalog/index.js';
import { buildConfig, type DnsConfig, type RawConfig } from '../../src/config/index.js';
import { startDnsServer, type DnsLimits, type DnsServer } from '../../src/dns/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { tempDir } from './server.js';

export interface InstanceSpec {
  node: string;
  /** Node address. */
  address: string;
  service: string;
  /** Service ID (default the service name). */
  id?: string;
  port?: number;
  tags?: string[];
  serviceAddress?: string;
  /** Status of one service check (none when undefined). */
  status?: HealthStatus;
  weights?: { Passing: number; Warning: number };
  nodeMeta?: Record<string, string>;
}

export interface DnsHarness {
  store: Store;
  catalog: Catalog;
  dns: DnsServer;
  config: DnsConfig;
  port: number;
  register(...specs: InstanceSpec[]): Promise<void>;
  setStatus(node: string, serviceId: string, status: HealthStatus): Promise<void>;
  close(): Promise<void>;
}

export async function startDnsHarness(
  raw: RawConfig = {},
  opts: { limits?: Partial<DnsLimits>; datacenter?: string; nodeName?: string; dns?: Partial<DnsConfig> } = {},
): Promise<DnsHarness> {
  const dir = tempDir('beacon-dns-');
  const store = await openStore('embedded', { dataDir: dir });
  const datacenter = opts.datacenter ?? 'dc1';
  const catalog = new Catalog(store, { datacenter });
  await catalog.start();
  const config: DnsConfig = { ...buildConfig({ dnsAddr: '127.0.0.1:0', datacenter, ...raw }).dns, ...opts.dns };
  let dns: DnsServer;
  try {
    dns = await startDnsServer({ catalog, config, datacenter, nodeName: opts.nodeName ?? 'beacon-1', limits: opts.limits });
  } catch (err) {
    catalog.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const nodesDone = new Set<string>();
  return {
    store,
    catalog,
    dns,
    config,
    port: dns.udpAddress.port,
    async register(...specs) {
      for (const s of specs) {
        if (!nodesDone.has(s.node) || s.nodeMeta) {
          await catalog.commands.registerNodeWith(
            {
              ID: '',
              Node: s.node,
              Address: s.address,
              Datacenter: datacenter,
              TaggedAddresses: {},
              Meta: s.nodeMeta ?? {},
            },
            [],
            [],
          );
          nodesDone.add(s.node);
        }
        const id = s.id ?? s.service;
        await catalog.commands.registerService(
          s.node,
          {
            ID: id,
            Service: s.service,
            Tags: s.tags ?? [],
            Address: s.serviceAddress ?? '',
            TaggedAddresses: {},
            Meta: {},
            Port: s.port ?? 8080,
            Weights: s.weights ?? { Passing: 1, Warning: 1 },
            EnableTagOverride: false,
            Kind: '',
          },
          s.status ? [ttlCheck(s.node, id, s.service, s.status)] : [],
        );
        // A re-registration keeps a check's status: set the one asked for.
        if (s.status) await catalog.commands.setCheckStatus(s.node, `service:${id}`, { status: s.status, output: '' });
      }
    },
    async setStatus(node, serviceId, status) {
      if (!catalog.instance(node, serviceId)) throw new Error(`no instance ${node}/${serviceId}`);
      await catalog.commands.setCheckStatus(node, `service:${serviceId}`, { status, output: '' });
    },
    async close() {
      await dns.close();
      catalog.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function ttlCheck(node: string, serviceId: string, service: string, status: HealthStatus): CheckRecord {
  return {
    Node: node,
    CheckID: `service:${serviceId}`,
    Name: `${service} check`,
    Status: status,
    Notes: '',
    Output: '',
    ServiceID: serviceId,
    ServiceName: service,
    ServiceTags: [],
    Type: 'ttl',
    Definition: {},
  };
}
