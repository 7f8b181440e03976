/**
 * The metrics each subsystem README lists (its Metrics section) are the metrics /metrics
 * exports, no more and no fewer — as src/errors/registry.test.ts ties error codes to
 * docs/errors.md. A real server (HTTP and DNS on) runs in this process.
 *
 * A README names a metric in backticks (`beacon_dns_queries_total{transport}`); a name ending in
 * `_` (`beacon_process_`) stands for every metric with that prefix.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/index.js';
import { runServer, type RunningServer } from '../../src/server/index.js';
import { buildGatewayConfig, runGateway, type RunningGateway } from '../../src/gateway/index.js';
import pino from 'pino';
import { REPO_ROOT, tempDir } from '../helpers/server.js';

/** Metric name prefixes that do not follow beacon_<subsystem>_*, kept until renamed (dashboards use them). */
const NAMING_EXCEPTIONS: readonly string[] = [
  'beacon_process_', // prom-client's default process and Node.js metrics
];
/** Subsystems a metric may be named after: the folders of src/, with api/http as `http`. */
const SUBSYSTEMS = [
  'http',
  ...readdirSync(join(REPO_ROOT, 'src'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'api')
    .map((d) => d.name),
];

/** Every src/**\/README.md with the metric names of its Metrics section. */
function documentedMetrics(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const files = (readdirSync(join(REPO_ROOT, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('README.md')).sort();
  for (const file of files) {
    const lines = readFileSync(join(REPO_ROOT, 'src', file), 'utf8').split('\n');
    // "## Metrics" runs to the next heading; "**Metrics.** …" to the next bold-titled paragraph.
    const start = lines.findIndex((l) => /^#{2,}\s+Metrics\s*$/.test(l) || /^\*\*Metrics\.?\*\*/.test(l));
    if (start < 0) continue;
    let end = start + 1;
    while (end < lines.length && !/^#{1,}\s/.test(lines[end]) && !/^\*\*[A-Z][^*]*\.\*\*/.test(lines[end])) end++;
    const section = lines.slice(start, end).join('\n');
    out.set(`src/${file}`, [...new Set([...section.matchAll(/`(beacon_[a-z0-9_]+)/g)].map((m) => m[1]))]);
  }
  return out;
}

const covers = (documented: string, metric: string): boolean => (documented.endsWith('_') ? metric.startsWith(documented) : metric === documented);

let server: RunningServer;
let dataDir: string;
let exported: string[];
let gateway: RunningGateway | undefined;

beforeAll(async () => {
  dataDir = tempDir('beacon-metrics-docs-');
  server = await runServer(buildConfig({ httpAddr: '127.0.0.1:0', dnsAddr: '127.0.0.1:0', dataDir, node: 'metrics-docs', logLevel: 'silent' }));
  // One request first, so metrics created on first use exist too.
  await fetch(`http://127.0.0.1:${server.http.port}/v1/catalog/services`).then((r) => r.text());
  const text = await fetch(`http://127.0.0.1:${server.http.port}/metrics`).then((r) => r.text());
  exported = [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]);
  // beacon gateway / sidecar export theirs on their own admin address.
  gateway = await runGateway(buildGatewayConfig({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', server: [`http://127.0.0.1:${server.http.port}`] }, 'gateway'), {
    log: pino({ level: 'silent' }),
  });
  const gwText = await fetch(`http://127.0.0.1:${gateway.admin!.port}/metrics`).then((r) => r.text());
  exported = [...new Set([...exported, ...[...gwText.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1])])].sort();
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('metrics documentation', () => {
  const docs = documentedMetrics();

  it('finds the READMEs and the exported metrics', () => {
    expect([...docs.keys()]).toEqual(expect.arrayContaining(['src/api/http/README.md', 'src/dns/README.md', 'src/health/README.md', 'src/store/README.md']));
    expect(exported.length).toBeGreaterThan(20);
  });

  it.each([...docs.entries()].filter(([, names]) => names.length > 0))('every metric %s lists is exported', (_file, names) => {
    const missing = names.filter((n) => !exported.some((m) => covers(n, m)));
    expect(missing, 'listed in the README but not on /metrics').toEqual([]);
  });

  it('every exported metric is listed in some README', () => {
    const all = [...docs.values()].flat();
    const undocumented = exported.filter((m) => !all.some((n) => covers(n, m)));
    expect(undocumented, 'on /metrics but in no src/**/README.md Metrics section').toEqual([]);
  });

  it('every exported metric is named beacon_<subsystem>_*', () => {
    const misnamed = exported.filter((m) => !NAMING_EXCEPTIONS.some((p) => m.startsWith(p)) && !SUBSYSTEMS.some((s) => m.startsWith(`beacon_${s}_`)));
    expect(misnamed).toEqual([]);
  });
});
