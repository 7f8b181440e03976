/**
 * Every mistake on the `beacon` command line is one `beacon: …` line on stderr with a suggestion
 * where there is one, exit code 2 for a usage error (nothing sent) and 1 for a failure; files are
 * checked whole before anything is registered; --token and --datacenter reach the server as the
 * consul CLI sends them. Real `bin/beacon` processes against a real server and a recording one.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEACON_BIN, REPO_ROOT, startServer, tempDir, type RunningServer } from '../helpers/server.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/beacon ...args` with no address or token in the environment unless given; killed after 15 s. */
function beacon(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BEACON_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, BEACON_HTTP_ADDR: undefined, CONSUL_HTTP_ADDR: undefined, BEACON_HTTP_TOKEN: undefined, CONSUL_HTTP_TOKEN: undefined, ...env },
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

/** Runs the commands two at a time (the machine has 2 cores). */
async function each(list: string[][], env: Record<string, string> = {}): Promise<Result[]> {
  const out: Result[] = [];
  for (let i = 0; i < list.length; i += 2) out.push(...(await Promise.all(list.slice(i, i + 2).map((a) => beacon(a, env)))));
  return out;
}

let server: RunningServer;
let addr: string;
let dir: string;
const services = async (): Promise<string[]> => Object.keys((await (await fetch(`${server.httpUrl}/v1/agent/services`)).json()) as object).sort();

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  addr = `${server.httpHost}:${server.httpPort}`;
  dir = tempDir('beacon-cli-errors-');
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a mistake on the command line: one beacon: line, a suggestion, exit code 2', () => {
  const cases: [string, string[], string][] = [
    ['a mistyped command', ['memebers'], "beacon: unknown command 'memebers' (did you mean members?)"],
    ['a mistyped subcommand', ['catalog', 'service'], "beacon: unknown command 'catalog service' (did you mean catalog services?)"],
    ['an unknown command', ['frobnicate'], "beacon: unknown command 'frobnicate' (see beacon --help for the commands)"],
    ['a mistyped option of beacon server', ['server', '--http-adr', '127.0.0.1:0'], "beacon: unknown option '--http-adr' (did you mean --http-addr?)"],
    ['a mistyped option', ['catalog', 'services', '--tgs'], "beacon: unknown option '--tgs' (did you mean --tags?)"],
    ['an unknown option', ['catalog', 'services', '--colour'], "beacon: unknown option '--colour' (see beacon catalog services --help)"],
    ['a Consul-style flag', ['health', 'web', '-passing'], "beacon: unknown option '-passing' (use --passing: beacon's options take two dashes)"],
    [
      'a Consul-style flag with a value',
      ['members', '-http-addr=127.0.0.1:8500'],
      "beacon: unknown option '-http-addr=127.0.0.1:8500' (use --http-addr=127.0.0.1:8500: beacon's options take two dashes)",
    ],
    [
      "consul watch's -passingonly",
      ['watch', '--type', 'service', '--service', 'web', '-passingonly=true'],
      "beacon: unknown option '-passingonly=true' (use --passing)",
    ],
    ['a missing argument', ['health'], "beacon: missing required argument 'service' (see beacon health --help)"],
    ['a missing option value', ['members', '--token'], "beacon: option '--token <token>' argument missing (see beacon members --help)"],
    ['an extra argument', ['members', 'web'], "beacon: too many arguments for 'members'. Expected 0 arguments but got 1. (see beacon members --help)"],
    ['a bad flag value', ['services', 'register', '--name', 'web', '--port', 'http'], 'beacon: invalid --port "http": expected a port number from 0 to 65535'],
    ['a bad --datacenter', ['catalog', 'services', '--datacenter', 'dc 1'], 'beacon: invalid --datacenter "dc 1": expected a datacenter name such as dc1'],
  ];

  it.each(cases)('%s', async (_what, args, line) => {
    const r = await beacon(args, { BEACON_HTTP_ADDR: addr });
    expect(r).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
  });

  it('a command group without its subcommand prints its help on stderr and exits 2; --help and --version exit 0', async () => {
    const [group, help, version] = await each([['catalog'], ['catalog', '--help'], ['--version']]);
    expect(group).toMatchObject({ code: 2, stdout: '' });
    expect(group.stderr).toContain('Usage: beacon catalog');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: beacon catalog');
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) as string });
  });
});

describe('help into a pipe that closes early', () => {
  it('ends quietly with exit code 0, not with an EPIPE stack trace', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const proc = spawn(process.execPath, [BEACON_BIN, 'server', '--help'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout.destroy(); // as `beacon server --help | head -1` once head has its line
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      proc.once('error', reject);
      proc.once('close', (c) => resolve({ code: c, stderr: err }));
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('a failure: one beacon: line, exit code 1', () => {
  it('the server refuses: an unknown service ID, a datacenter it does not serve', async () => {
    const [maint, dc] = await each([
      ['maint', '--enable', '--service', 'web', '--http-addr', addr],
      ['catalog', 'services', '--datacenter', 'dc2', '--http-addr', addr],
    ]);
    expect(maint).toEqual({
      code: 1,
      stdout: '',
      stderr: 'beacon: error enabling maintenance of service "web": No service registered with ID "web" (HTTP 404)\n',
    });
    expect(dc.code).toBe(1);
    expect(dc.stderr).toMatch(/^beacon: error listing services: No path to datacenter[^\n]*\(HTTP 500\)\n$/);
  });
});

describe('services register checks every file whole before registering anything', () => {
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('a bad second service in one file: nothing registered', async () => {
    const multi = write(
      'multi.json',
      JSON.stringify({
        services: [
          { Name: 'first', Port: 8080 },
          { Name: 'second', Port: 99999 },
        ],
      }),
    );
    const r = await beacon(['services', 'register', multi, '--http-addr', addr]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `beacon: ${multi}: services[1]: Invalid Port: must be <= 65535\n` });
    expect(await services()).toEqual(['consul']);
  });

  it('a bad second file: nothing registered, the first file included', async () => {
    const good = write('good.json', JSON.stringify({ Name: 'good', Port: 8080 }));
    const typo = write('typo.json', JSON.stringify({ Name: 'web', Port: 8080, Chek: { TTL: '30s' } }));
    const r = await beacon(['services', 'register', good, typo, '--http-addr', addr]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `beacon: ${typo}: unknown key "Chek" (did you mean Check?)\n` });
    expect(await services()).toEqual(['consul']);
  });

  it('a JSON error names the line and column; a nested typo names its path', async () => {
    const broken = write('broken.json', '{\n  "Name": "web",\n  "Port": 8080,\n}\n');
    const nested = write('nested.json', JSON.stringify({ service: { name: 'web', port: 8080, check: { http: 'http://127.0.0.1:9/', intervl: '10s' } } }));
    const [a, b] = await each([
      ['services', 'register', broken, '--http-addr', addr],
      ['services', 'register', nested, '--http-addr', addr],
    ]);
    expect(a).toEqual({ code: 2, stdout: '', stderr: `beacon: ${broken}:4:1: invalid JSON: Expected double-quoted property name\n` });
    expect(b).toEqual({ code: 2, stdout: '', stderr: `beacon: ${nested}: unknown key "check.intervl" (did you mean check.Interval?)\n` });
    expect(await services()).toEqual(['consul']);
  });

  it('good files register every service', async () => {
    const both = write(
      'both.json',
      JSON.stringify({
        services: [
          { Name: 'a', Port: 1 },
          { name: 'b', port: 2, check: { ttl: '30s' } },
        ],
      }),
    );
    const r = await beacon(['services', 'register', both, '--http-addr', addr]);
    expect(r).toEqual({ code: 0, stdout: 'Registered service: a\nRegistered service: b\n', stderr: '' });
    expect(await services()).toEqual(['a', 'b', 'consul']);
    expect((await beacon(['services', 'deregister', both, '--http-addr', addr])).code).toBe(0);
  });
});

describe('--token and --datacenter, as the consul CLI has them', () => {
  let fake: Server;
  let fakeAddr: string;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  beforeAll(async () => {
    fake = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-consul-index', '1');
      res.end(req.url?.startsWith('/v1/catalog/datacenters') ? '["dc1"]' : '{}');
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    fakeAddr = `127.0.0.1:${(fake.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => fake.close(() => r())));

  it('send the token as X-Consul-Token and the datacenter as dc; the token also comes from the environment', async () => {
    const runs: [string[], Record<string, string>, string | undefined][] = [
      [['--token', 'flag-token', '--datacenter', 'dc9'], { BEACON_HTTP_TOKEN: 'env-token' }, 'flag-token'],
      [[], { BEACON_HTTP_TOKEN: 'beacon-token', CONSUL_HTTP_TOKEN: 'consul-token' }, 'beacon-token'],
      [[], { CONSUL_HTTP_TOKEN: 'consul-token' }, 'consul-token'],
      [[], {}, undefined],
    ];
    for (const [flags, env, token] of runs) {
      seen.length = 0;
      const r = await beacon(['catalog', 'datacenters', '--http-addr', fakeAddr, ...flags], env);
      expect(r).toEqual({ code: 0, stdout: 'dc1\n', stderr: '' });
      expect(seen).toHaveLength(1);
      expect(seen[0].headers['x-consul-token']).toBe(token);
      expect(seen[0].url).toBe(flags.includes('--datacenter') ? '/v1/catalog/datacenters?dc=dc9' : '/v1/catalog/datacenters');
    }
  });

  it('every client command takes them', async () => {
    seen.length = 0;
    const r = await beacon(['services', 'register', '--name', 'web', '--http-addr', fakeAddr, '--token', 't', '--datacenter', 'dc9']);
    expect(r.code).toBe(0);
    expect(seen[0]).toMatchObject({ url: '/v1/agent/service/register?dc=dc9', headers: { 'x-consul-token': 't' } });
  });
});
