/**
 * A real `beacon server` process repairs its own node in the catalog (anti-entropy), as Consul's
 * agent does: after a catalog deregister of the server's node, a forged critical serfHealth, a
 * wrong Address, a service registered on the node through the catalog API, and across kill -9
 * and a restart with the catalog damaged while the server was down. Waits are generous bounds on
 * polling; nothing asserts how long a repair took.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/index.js';
import { openStore } from '../../src/store/index.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

const NODE = 'test-node';
const BOUND_MS = 60_000;

interface HealthCheck {
  CheckID: string;
  Status: string;
  Output: string;
  ServiceID: string;
  Type: string;
}
interface NodeServices {
  Node: { Address: string; Meta: Record<string, string> };
  Services: Record<string, { Port: number }>;
}

const servers: RunningServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir?: string): Promise<RunningServer> {
  const s = await startServer({ dnsAddr: 'off', args: ['--log-level', 'info'], ...(dataDir ? { dataDir } : {}) });
  servers.push(s);
  return s;
}

async function put(s: RunningServer, path: string, body?: unknown): Promise<string> {
  const r = await fetch(`${s.httpUrl}${path}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  expect(r.status, `${path}: ${text}`).toBe(200);
  return text;
}
async function get<T>(s: RunningServer, path: string): Promise<T> {
  return (await fetch(`${s.httpUrl}${path}`)).json() as Promise<T>;
}

/** What the catalog says of the server's node: its record, services and checks. */
async function nodeState(s: RunningServer) {
  const [node, checks] = await Promise.all([get<NodeServices | null>(s, `/v1/catalog/node/${NODE}`), get<HealthCheck[]>(s, `/v1/health/node/${NODE}`)]);
  return { node, checks: new Map(checks.map((c) => [c.CheckID, c])) };
}

/** Polls until `ok` holds for the node's state, within a generous bound; returns that state. */
async function eventually(s: RunningServer, what: string, ok: (st: Awaited<ReturnType<typeof nodeState>>) => boolean) {
  const deadline = Date.now() + BOUND_MS;
  let st = await nodeState(s);
  while (!ok(st)) {
    if (Date.now() > deadline)
      throw new Error(`not repaired (${what}) within ${BOUND_MS} ms: ${JSON.stringify({ node: st.node, checks: [...st.checks.values()] })}\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 200));
    st = await nodeState(s);
  }
  return st;
}

/** Waits (within the bound) for a log line; the repair can be visible before its line is written. */
async function logged(s: RunningServer, re: RegExp): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!re.test(s.output())) {
    if (Date.now() > deadline) throw new Error(`no log line ${re} within ${BOUND_MS} ms:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The server's node as registered: its services, its checks, serfHealth passing, its address. */
function registered(services: string[], checks: string[]) {
  return (st: Awaited<ReturnType<typeof nodeState>>) =>
    st.node !== null &&
    st.node.Node.Address === '127.0.0.1' &&
    services.every((id) => id in st.node!.Services) &&
    Object.keys(st.node.Services).length === services.length &&
    checks.every((id) => st.checks.has(id)) &&
    st.checks.size === checks.length &&
    st.checks.get('serfHealth')?.Status === 'passing';
}

async function registerWeb(s: RunningServer): Promise<void> {
  await put(s, '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 8080, Check: { TTL: '60s', Status: 'passing' } });
  await put(s, '/v1/agent/check/register', { Name: 'mem', TTL: '60s' });
}

const SERVICES = ['consul', 'web-1'];
const CHECKS = ['serfHealth', 'service:web-1', 'mem'];

describe('the server repairs its own node in the catalog', { timeout: 4 * BOUND_MS }, () => {
  it('after a catalog deregister of the node: services, checks, the consul service and serfHealth come back', async () => {
    const s = await start();
    await registerWeb(s);
    await eventually(s, 'registered', registered(SERVICES, CHECKS));

    expect(await put(s, '/v1/catalog/deregister', { Node: NODE })).toBe('true');
    const st = await eventually(s, 'node restored', registered(SERVICES, CHECKS));
    expect(st.node!.Services['web-1'].Port).toBe(8080);
    // Re-created checks start critical; health runs them from there (a TTL check waits for its heartbeat).
    expect(st.checks.get('service:web-1')).toMatchObject({ Status: 'critical', Type: 'ttl', ServiceID: 'web-1' });
    await logged(s, /anti-entropy: restored this server's node, missing from the catalog, with 2 services and 3 checks/);
    const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^beacon_server_anti_entropy_repairs_total\{kind="node"\} [1-9]/m);

    // The agent API keeps working on the repaired node.
    await put(s, `/v1/agent/check/pass/service:web-1`);
    await eventually(s, 'heartbeat seen', (x) => x.checks.get('service:web-1')?.Status === 'passing');
  });

  it('a forged critical serfHealth, a wrong Address and a service registered on the node through the catalog are put right', async () => {
    const s = await start();
    await registerWeb(s);
    await eventually(s, 'registered', registered(SERVICES, CHECKS));

    await put(s, '/v1/catalog/register', {
      Node: NODE,
      Address: '10.66.66.66',
      NodeMeta: { forged: 'yes' },
      Service: { Service: 'intruder', ID: 'intruder-1', Port: 1 },
      Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'critical', Output: 'forged' },
    });
    const st = await eventually(s, 'serfHealth, address and services repaired', registered(SERVICES, CHECKS));
    expect(st.node!.Node.Meta).toEqual({ 'consul-network-segment': '' });
    expect(st.checks.get('serfHealth')).toMatchObject({ Status: 'passing', Output: 'Agent alive and reachable' });
    // (pino writes JSON: the quotes of the message come escaped.)
    await logged(s, /anti-entropy: removed service \\"intruder-1\\": not registered on this server/);
    await logged(s, /anti-entropy: set serfHealth back to passing/);
  });

  it('a service registered through the agent API right after the damage is there along with everything else', async () => {
    const s = await start();
    await registerWeb(s);
    await eventually(s, 'registered', registered(SERVICES, CHECKS));
    await put(s, '/v1/catalog/deregister', { Node: NODE });
    await put(s, '/v1/agent/service/register', { Name: 'api', ID: 'api-1', Port: 9090 });
    const services = await get<Record<string, { Port: number }>>(s, '/v1/agent/services');
    expect(services['api-1']?.Port).toBe(9090);
    await eventually(s, 'everything back', registered([...SERVICES, 'api-1'], CHECKS));
  });

  it('kill -9 right after a damaging write, and damage while the server is down: a restart still repairs the node', async () => {
    const dataDir = tempDir('beacon-self-repair-');
    dirs.push(dataDir);
    const s1 = await start(dataDir);
    await registerWeb(s1);
    await eventually(s1, 'registered', registered(SERVICES, CHECKS));
    await put(s1, '/v1/catalog/deregister', { Node: NODE });
    await s1.kill();

    // While no server runs: remove the node again, and put a stranger on it.
    const store = await openStore('embedded', { dataDir });
    const catalog = new Catalog(store, { datacenter: 'dc1' });
    await catalog.start();
    await catalog.commands.deregisterNode(NODE);
    await catalog.commands.catalogRegister({
      node: { Node: NODE, Address: '10.1.2.3', ID: '', TaggedAddresses: {}, Meta: {} },
      service: {
        ID: 'stranger',
        Service: 'stranger',
        Tags: [],
        Address: '',
        TaggedAddresses: {},
        Meta: {},
        Port: 1,
        Weights: { Passing: 1, Warning: 1 },
        EnableTagOverride: false,
        Kind: '',
      },
      checks: [],
    });
    catalog.stop();
    await store.close();

    const s2 = await start(dataDir);
    const st = await eventually(s2, 'repaired after restart', registered(SERVICES, CHECKS));
    expect(st.node!.Services['web-1'].Port).toBe(8080);
    await s2.kill();

    // And once more with the catalog damaged through the API just before the kill.
    const s3 = await start(dataDir);
    await eventually(s3, 'registered', registered(SERVICES, CHECKS));
    await put(s3, '/v1/catalog/register', {
      Node: NODE,
      Address: '10.9.9.9',
      Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'critical' },
    });
    await put(s3, '/v1/catalog/deregister', { Node: NODE, ServiceID: 'web-1' });
    await s3.kill();
    const s4 = await start(dataDir);
    await eventually(s4, 'repaired after restart', registered(SERVICES, CHECKS));
  });
});
