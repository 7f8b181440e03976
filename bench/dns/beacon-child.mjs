// Bench target (a): Beacon's DNS server on a real embedded store and catalog, records from
// records.mjs. Prints "READY <port>" and serves until SIGTERM. Imports the compiled dist/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATACENTER, NODES, SERVICES } from './records.mjs';

const dist = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const { openStore } = await import(dist('store/index.js'));
const { Catalog } = await import(dist('catalog/index.js'));
const { buildConfig } = await import(dist('config/index.js'));
const { startDnsServer } = await import(dist('dns/index.js'));

const dir = mkdtempSync(join(tmpdir(), 'beacon-bench-dns-'));
const store = await openStore('embedded', { dataDir: dir });
const catalog = new Catalog(store, { datacenter: DATACENTER });
await catalog.start();
const byNode = new Map(
  NODES.map((n) => [
    n.node,
    { node: { ID: '', Node: n.node, Address: n.address, Datacenter: DATACENTER, TaggedAddresses: {}, Meta: {} }, services: [], checks: [] },
  ]),
);
for (const [service, nodes] of Object.entries(SERVICES)) {
  for (const node of nodes) {
    const entry = byNode.get(node);
    entry.services.push({
      ID: service,
      Service: service,
      Tags: [],
      Address: '',
      TaggedAddresses: {},
      Meta: {},
      Port: 8080,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Kind: '',
    });
    entry.checks.push({
      Node: node,
      CheckID: `service:${service}`,
      Name: 'check',
      Status: 'passing',
      Notes: '',
      Output: '',
      ServiceID: service,
      ServiceName: service,
      ServiceTags: [],
      Type: 'ttl',
      Definition: {},
    });
  }
}
for (const e of byNode.values()) await catalog.commands.registerNodeWith(e.node, e.services, e.checks);
const config = buildConfig({ dnsAddr: '127.0.0.1:0', datacenter: DATACENTER }).dns;
const dns = await startDnsServer({ catalog, config, datacenter: DATACENTER, nodeName: 'bench' });
process.stdout.write(`READY ${dns.udpAddress.port}\n`);
process.on('SIGTERM', async () => {
  const s = dns.stats();
  process.stdout.write(`STATS ${JSON.stringify({ queries: s.queries, cacheHits: s.cacheHits, cacheMisses: s.cacheMisses })}\n`);
  await dns.close();
  catalog.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
