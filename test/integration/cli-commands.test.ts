/**
 * The client commands of `bin/beacon` (members, catalog, services, health, maint, info) against a
 * real server: happy paths, bad input that exits 1 naming the culprit and changes nothing, and a
 * server that is not there (exit 1, one line).
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEACON_BIN, REPO_ROOT, startServer, tempDir, type RunningServer } from '../helpers/server.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/beacon ...args`; killed after 15 s. */
function beacon(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BEACON_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, BEACON_HTTP_ADDR: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.once('error', reject);
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs several commands, at most `limit` at a time (the machine has 2 cores). */
async function all(runs: (() => Promise<Result>)[], limit = 4): Promise<Result[]> {
  const out = new Array<Result>(runs.length);
  let next = 0;
  const worker = async () => {
    while (next < runs.length) {
      const i = next++;
      out[i] = await runs[i]();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

/** Splits a table into rows of cells (columns are separated by two or more spaces). */
function table(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

let server: RunningServer;
let addr: string;
let dir: string;
const api = async <T>(path: string): Promise<T> => (await (await fetch(`${server.httpUrl}${path}`)).json()) as T;

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  addr = `${server.httpHost}:${server.httpPort}`;
  dir = tempDir('beacon-cli-');
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('beacon client commands', () => {
  it('are listed by --help, and each has its own --help with examples (src/cli/help.test.ts checks them all)', async () => {
    const [root, leaf] = await all([() => beacon(['--help']), () => beacon(['catalog', 'nodes', '--help'])]);
    expect(root.code).toBe(0);
    for (const name of ['members', 'catalog', 'services', 'health', 'maint', 'watch', 'info']) expect(root.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(leaf.code).toBe(0);
    expect(leaf.stdout).toContain('Usage: beacon catalog nodes [options]');
    expect(leaf.stdout).toContain('--http-addr <host:port>');
    expect(leaf.stdout).toContain('Examples:\n  beacon catalog nodes\n');
  });

  it('members, catalog datacenters and catalog nodes print the server as consul does', async () => {
    const [members, dcs, nodes] = await all([
      () => beacon(['members', '--http-addr', addr]),
      () => beacon(['catalog', 'datacenters', '--http-addr', addr]),
      () => beacon(['catalog', 'nodes', '--http-addr', addr]),
    ]);
    expect(members.code).toBe(0);
    expect(table(members.stdout)).toEqual([
      ['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC'],
      ['test-node', '127.0.0.1:8301', 'alive', 'server', expect.stringMatching(/^\d+\.\d+\.\d+$/), '2', 'dc1'],
    ]);
    expect(dcs.stdout).toBe('dc1\n');
    const [node] = await api<{ ID: string }[]>('/v1/catalog/nodes');
    expect(table(nodes.stdout)).toEqual([
      ['Node', 'ID', 'Address', 'DC'],
      ['test-node', node.ID.slice(0, 8), '127.0.0.1', 'dc1'],
    ]);
    expect(members.stderr + dcs.stderr + nodes.stderr).toBe('');
  });

  it('takes the address from BEACON_HTTP_ADDR when there is no flag', async () => {
    const r = await beacon(['catalog', 'datacenters'], { BEACON_HTTP_ADDR: addr });
    expect(r).toMatchObject({ code: 0, stdout: 'dc1\n' });
  });

  it('services register from flags and from a file; catalog services and health show them', async () => {
    const reg = await beacon([
      'services',
      'register',
      '--http-addr',
      addr,
      '--name',
      'web',
      '--id',
      'web-1',
      '--port',
      '8080',
      '--tag',
      'v2',
      '--tag',
      'blue',
      '--meta',
      'version=2.1',
    ]);
    expect(reg).toMatchObject({ code: 0, stdout: 'Registered service: web\n', stderr: '' });
    const file = join(dir, 'web2.json');
    writeFileSync(
      file,
      JSON.stringify({ service: { name: 'web', id: 'web-2', address: '10.0.0.7', port: 8081, tags: ['v1'], check: { ttl: '30s', status: 'warning' } } }),
    );
    const fromFile = await beacon(['services', 'register', '--http-addr', addr, file]);
    expect(fromFile).toMatchObject({ code: 0, stdout: 'Registered service: web\n' });

    const svc = await api<Record<string, { Port: number; Tags: string[]; Meta: Record<string, string> }>>('/v1/agent/services');
    expect(svc['web-1']).toMatchObject({ Port: 8080, Tags: ['v2', 'blue'], Meta: { version: '2.1' } });
    expect(svc['web-2']).toMatchObject({ Port: 8081, Tags: ['v1'] });

    const [names, tags, byNode, nodesOfWeb, health, passing, tagged] = await all([
      () => beacon(['catalog', 'services', '--http-addr', addr]),
      () => beacon(['catalog', 'services', '--tags', '--http-addr', addr]),
      () => beacon(['catalog', 'services', '--node', 'test-node', '--http-addr', addr]),
      () => beacon(['catalog', 'nodes', '--service', 'web', '--http-addr', addr]),
      () => beacon(['health', 'web', '--http-addr', addr]),
      () => beacon(['health', 'web', '--passing', '--http-addr', addr]),
      () => beacon(['health', 'web', '--tag', 'v1', '--http-addr', addr]),
    ]);
    expect(names.stdout).toBe('consul\nweb\n');
    expect(tags.stdout).toBe('consul\nweb         blue,v1,v2\n');
    expect(byNode.stdout).toBe('consul\nweb\n');
    expect(table(nodesOfWeb.stdout).map((r) => r[0])).toEqual(['Node', 'test-node', 'test-node']);
    expect(table(health.stdout)).toEqual([
      ['Node', 'ServiceID', 'Address', 'Status', 'Tags'],
      ['test-node', 'web-1', '127.0.0.1:8080', 'passing', 'v2,blue'],
      ['test-node', 'web-2', '10.0.0.7:8081', 'warning', 'v1'],
    ]);
    expect(table(passing.stdout).map((r) => r[1])).toEqual(['ServiceID', 'web-1']);
    expect(table(tagged.stdout).map((r) => r[1])).toEqual(['ServiceID', 'web-2']);
  });

  it('maint puts a service and the node in maintenance, lists them, and takes them out', async () => {
    const on = await beacon(['maint', '--enable', '--service', 'web-1', '--reason', 'deploying v3', '--http-addr', addr]);
    expect(on).toMatchObject({ code: 0, stdout: 'Service maintenance is now enabled for "web-1"\n' });
    const node = await beacon(['maint', '--enable', '--http-addr', addr]);
    expect(node).toMatchObject({ code: 0, stdout: 'Node maintenance is now enabled\n' });

    const [list, health] = await all([() => beacon(['maint', '--http-addr', addr]), () => beacon(['health', 'web', '--http-addr', addr])]);
    expect(list.stdout).toContain('Service:\n  ID:     web-1\n  Reason: deploying v3\n');
    expect(list.stdout).toContain('Node:\n  Name:   test-node\n  Reason: Maintenance mode is enabled for this node');
    expect(table(health.stdout).map((r) => r[3])).toEqual(['Status', 'maintenance', 'maintenance']);

    const [offSvc, offNode] = await all([
      () => beacon(['maint', '--disable', '--service', 'web-1', '--http-addr', addr]),
      () => beacon(['maint', '--disable', '--http-addr', addr]),
    ]);
    expect(offSvc.stdout).toBe('Service maintenance is now disabled for "web-1"\n');
    expect(offNode.stdout).toBe('Node maintenance is now disabled\n');
    const checks = await api<Record<string, unknown>>('/v1/agent/checks');
    expect(Object.keys(checks).filter((id) => id.includes('maintenance'))).toEqual([]);
  });

  it('info prints config and stats sections', async () => {
    const r = await beacon(['info', '--http-addr', addr]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^config:\n(\t.+\n)*\tDatacenter = dc1\n/);
    expect(r.stdout).toContain('\tNodeName = test-node\n');
    expect(r.stdout).toMatch(/^catalog:\n(\t.+\n)*\tinstances = \d+\n/m);
    expect(r.stdout).toMatch(/^beacon:\n/m);
  });

  it('services deregister by --id and by file', async () => {
    const byId = await beacon(['services', 'deregister', '--id', 'web-1', '--http-addr', addr]);
    expect(byId).toMatchObject({ code: 0, stdout: 'Deregistered service: web-1\n' });
    const byFile = await beacon(['services', 'deregister', join(dir, 'web2.json'), '--http-addr', addr]);
    expect(byFile).toMatchObject({ code: 0, stdout: 'Deregistered service: web-2\n' });
    expect(Object.keys(await api('/v1/agent/services'))).toEqual(['consul']);
    const none = await beacon(['health', 'web', '--http-addr', addr]);
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'No instances of service "web" match the given query.\n' });
  });
});

describe('beacon client commands: bad input exits 2 (a failure 1) with one line naming it, and changes nothing', () => {
  it('rejects bad flags and files before sending anything', async () => {
    const missing = join(dir, 'missing.json');
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{"Name": "x",');
    const cases: [string[], RegExp][] = [
      [['services', 'register'], /^beacon: services register needs a FILE or --name/],
      [['services', 'register', '--name', 'x', '--port', 'http'], /^beacon: invalid --port "http": expected a port number from 0 to 65535$/],
      [['services', 'register', '--name', 'x', '--meta', 'novalue'], /^beacon: invalid --meta "novalue": expected key=value$/],
      [['services', 'register', missing], new RegExp(`^beacon: cannot read ${missing}: ENOENT`)],
      [['services', 'register', notJson], new RegExp(`^beacon: ${notJson}:1:14: invalid JSON: `)],
      [['services', 'register', missing, '--name', 'x'], /^beacon: services register takes FILE or flags/],
      [['services', 'deregister'], /^beacon: services deregister needs a FILE or --id$/],
      [['maint', '--enable', '--disable'], /^beacon: maint takes only one of --enable or --disable$/],
      [['catalog', 'nodes', '--node-meta', 'rack'], /^beacon: invalid --node-meta "rack": expected key=value$/],
      [['watch', '--type', 'service'], /^beacon: watch --type service needs --service NAME$/],
      [['members', '--http-addr', 'nonsense'], /^beacon: invalid --http-addr "nonsense": expected HOST:PORT/],
    ];
    const results = await all(
      cases.map(
        ([args]) =>
          () =>
            beacon(args[0] === 'members' ? args : [...args, '--http-addr', addr]),
      ),
    );
    results.forEach((r, i) => {
      const [args, message] = cases[i];
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    });
    expect(Object.keys(await api('/v1/agent/services'))).toEqual(['consul']);
  });

  it("checks files with the server's own rules before sending, and prints the server's message when it refuses", async () => {
    const file = join(dir, 'bad-port.json');
    writeFileSync(file, '{"Name":"web","Port":70000}');
    const noName = join(dir, 'noname.json');
    writeFileSync(noName, '{"Port":80}');
    const [badPort, unknownSvc, missingName] = await all([
      () => beacon(['services', 'register', file, '--http-addr', addr]),
      () => beacon(['maint', '--enable', '--service', 'nope', '--http-addr', addr]),
      () => beacon(['services', 'register', noName, '--http-addr', addr]),
    ]);
    expect(badPort).toMatchObject({ code: 2, stdout: '', stderr: `beacon: ${file}: Invalid Port: must be <= 65535\n` });
    expect(unknownSvc).toMatchObject({
      code: 1,
      stderr: 'beacon: error enabling maintenance of service "nope": No service registered with ID "nope" (HTTP 404)\n',
    });
    expect(missingName).toMatchObject({ code: 2, stderr: `beacon: ${noName}: Missing service name (field: Name)\n` });
    expect(Object.keys(await api('/v1/agent/services'))).toEqual(['consul']);
  });

  it('says in one line that the server cannot be reached, for every command', async () => {
    const port = await closedPort();
    const runs: string[][] = [
      ['members'],
      ['catalog', 'datacenters'],
      ['catalog', 'nodes'],
      ['catalog', 'services'],
      ['services', 'register', '--name', 'web'],
      ['services', 'deregister', '--id', 'web'],
      ['health', 'web'],
      ['maint', '--enable'],
      ['watch', '--type', 'service', '--service', 'web'],
      ['info'],
    ];
    const results = await all(runs.map((args) => () => beacon([...args, '--http-addr', `127.0.0.1:${port}`])));
    results.forEach((r, i) => {
      expect(r.code, runs[i].join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^beacon: error [^\\n]+: cannot reach http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED [^\\n]+\\n$`));
    });
  });
});
