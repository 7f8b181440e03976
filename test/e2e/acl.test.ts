/**
 * ACLs against a real server started with --acl-default-policy deny, driven by the `consul` npm
 * client, python-consul and plain HTTP: bootstrap works once; a read-only token reads but cannot
 * register; lists are filtered (and say so); prefix rules, longest wins, deny beats the prefix
 * above it; a deleted token stops working at once; bad policies and tokens get 400s naming the
 * field; and no secret shows up in a response after creation, in /metrics or in the logs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../helpers/dns-dig.js';
import { BEACON_BIN, startServer, type RunningServer } from '../helpers/server.js';
import { ensurePythonModule } from '../helpers/tools.js';

let server: RunningServer;
const DNS_SECRET = '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
let management: { SecretID: string; AccessorID: string };
const secrets: string[] = [];

async function api(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: token ? { 'X-Consul-Token': token } : {},
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json: json as Record<string, unknown>, headers: res.headers };
}

async function policy(name: string, rules: string): Promise<string> {
  const r = await api('PUT', '/v1/acl/policy', management.SecretID, { Name: name, Rules: rules });
  expect(r.status, r.text).toBe(200);
  return r.json.ID as string;
}

async function token(policyNames: string[]): Promise<{ SecretID: string; AccessorID: string }> {
  const r = await api('PUT', '/v1/acl/token', management.SecretID, { Description: policyNames.join('+'), Policies: policyNames.map((Name) => ({ Name })) });
  expect(r.status, r.text).toBe(200);
  const t = r.json as { SecretID: string; AccessorID: string };
  secrets.push(t.SecretID);
  return t;
}

let reader: { SecretID: string; AccessorID: string };
let webWriter: { SecretID: string; AccessorID: string };
let apiWriter: { SecretID: string; AccessorID: string };

beforeAll(async () => {
  server = await startServer({ args: ['--acl-default-policy', 'deny', '--acl-dns-token', DNS_SECRET] });
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('ACLs', () => {
  it('bootstraps the first management token once', async () => {
    const first = await api('PUT', '/v1/acl/bootstrap');
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ Description: 'Bootstrap Token (Global Management)', Policies: [{ Name: 'global-management' }] });
    management = first.json as typeof management;
    secrets.push(management.SecretID);
    expect(management.SecretID).toMatch(/^[0-9a-f-]{36}$/);
    const again = await api('PUT', '/v1/acl/bootstrap');
    expect(again.status).toBe(403);
    expect(again.text).toMatch(/^Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)$/);
    expect(again.headers.get('x-beacon-error')).toBe('BEACON_ERR_ACL_DENIED');
    expect(first.headers.get('x-consul-default-acl-policy')).toBe('deny');
  });

  it('makes policies and tokens in Consul’s shapes, and refuses bad ones naming the field', async () => {
    await policy('read-all', 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }');
    await policy('web-write', '# the web service\nservice "web" {\n  policy = "write"\n}\nnode_prefix "" { policy = "read" }');
    await policy(
      'api',
      JSON.stringify({ service_prefix: { 'api-': { policy: 'write' }, 'api-internal-': { policy: 'deny' } }, node_prefix: { '': { policy: 'write' } } }),
    );
    reader = await token(['read-all']);
    webWriter = await token(['web-write']);
    apiWriter = await token(['api']);

    const bad = await api('PUT', '/v1/acl/policy', management.SecretID, { Name: 'bad', Rules: 'service "web" {\n  policy = "sometimes"\n}' });
    expect(bad.status).toBe(400);
    expect(bad.text).toBe('Invalid Policy: service "web" on line 1: policy must be "read", "write" or "deny", got "sometimes" (field: Rules)');
    expect(bad.headers.get('x-beacon-error')).toBe('BEACON_ERR_VALIDATION');
    const unknown = await api('PUT', '/v1/acl/policy', management.SecretID, { Name: 'bad2', Rules: 'servise "web" { policy = "read" }' });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toMatch(/unknown rule "servise" on line 1/);
    const dup = await api('PUT', '/v1/acl/policy', management.SecretID, { Name: 'read-all', Rules: '' });
    expect(dup.status).toBe(400);
    expect(dup.text).toMatch(/A Policy with Name "read-all" already exists/);
    const noPolicy = await api('PUT', '/v1/acl/token', management.SecretID, { Policies: [{ Name: 'nope' }] });
    expect(noPolicy.status).toBe(400);
    expect(noPolicy.text).toMatch(/Policies\[0\].*no such ACL policy "nope"/);
    // Nothing was made by the refused requests.
    const names = ((await api('GET', '/v1/acl/policies', management.SecretID)).json as unknown as { Name: string }[]).map((p) => p.Name).sort();
    expect(names).toEqual(['api', 'global-management', 'read-all', 'web-write']);
  });

  it('the consul npm client: a read-only token reads and cannot register; a write token registers', async () => {
    const asReader = new Consul({ host: server.httpHost, port: server.httpPort, defaults: { token: reader.SecretID } });
    const asWriter = new Consul({ host: server.httpHost, port: server.httpPort, defaults: { token: webWriter.SecretID } });
    const denied: unknown = await asReader.agent.service.register({ name: 'web', id: 'web-1', port: 8080 }).catch((e: Error & { statusCode?: number }) => e);
    expect(denied).toBeInstanceOf(Error);
    // The client shows answers of 80 characters and more by their status text, as it does Consul's.
    expect((denied as { statusCode?: number }).statusCode).toBe(403);
    const raw = await api('PUT', '/v1/agent/service/register', reader.SecretID, { Name: 'web', ID: 'web-1', Port: 8080 });
    expect(raw.text).toBe(`Permission denied: token with AccessorID '${reader.AccessorID}' lacks permission 'service:write' on "web"`);
    await asWriter.agent.service.register({ name: 'web', id: 'web-1', port: 8080 });
    const deniedOther: unknown = await asWriter.agent.service.register({ name: 'db', id: 'db-1', port: 5432 }).catch((e: Error) => e);
    expect((deniedOther as { statusCode?: number }).statusCode).toBe(403);
    const list = (await asReader.catalog.service.list()) as Record<string, string[]>;
    expect(Object.keys(list)).toContain('web');
    expect(Object.keys(list)).not.toContain('db');
  });

  it('prefix rules: the longest prefix wins, and a deny under a write prefix holds', async () => {
    expect((await api('PUT', '/v1/agent/service/register', apiWriter.SecretID, { Name: 'api-public', Port: 9000 })).status).toBe(200);
    const internal = await api('PUT', '/v1/agent/service/register', apiWriter.SecretID, { Name: 'api-internal-billing', Port: 9001 });
    expect(internal.status).toBe(403);
    expect(internal.text).toMatch(/lacks permission 'service:write' on "api-internal-billing"/);
    const web = await api('PUT', '/v1/agent/service/register', apiWriter.SecretID, { Name: 'web', ID: 'web-2', Port: 8081 });
    expect(web.status).toBe(403);
    // Nothing was registered by the refused writes.
    const services = (await api('GET', '/v1/agent/services', management.SecretID)).json;
    expect(Object.keys(services).sort()).toEqual(['api-public', 'consul', 'web-1']);
  });

  it('lists are filtered per token and say so; the anonymous token sees nothing under deny', async () => {
    const forApi = await api('GET', '/v1/catalog/services', apiWriter.SecretID);
    expect(Object.keys(forApi.json).sort()).toEqual(['api-public']);
    expect(forApi.headers.get('x-consul-results-filtered-by-acls')).toBe('true');
    // The same URL asked again (answered from the cache) by another token gets that token's view.
    for (let i = 0; i < 2; i++) {
      const forReader = await api('GET', '/v1/catalog/services', reader.SecretID);
      expect(Object.keys(forReader.json).sort()).toEqual(['api-public', 'consul', 'web']);
      expect(forReader.headers.get('x-consul-results-filtered-by-acls')).toBeNull();
      const again = await api('GET', '/v1/catalog/services', apiWriter.SecretID);
      expect(Object.keys(again.json)).toEqual(['api-public']);
    }
    const anon = await api('GET', '/v1/catalog/services');
    expect(anon.status).toBe(200);
    expect(anon.json).toEqual({});
    const health = await api('GET', '/v1/health/service/web', apiWriter.SecretID);
    expect(health.json).toEqual([]);
    expect(health.headers.get('x-consul-results-filtered-by-acls')).toBe('true');
    expect(((await api('GET', '/v1/health/service/web', reader.SecretID)).json as unknown as unknown[]).length).toBe(1);
    // Bearer and ?token= carry tokens too.
    const bearer = await fetch(`${server.httpUrl}/v1/catalog/services`, { headers: { Authorization: `Bearer ${reader.SecretID}` } });
    expect(Object.keys((await bearer.json()) as object)).toContain('web');
    const query = await api('GET', `/v1/catalog/services?token=${reader.SecretID}`);
    expect(Object.keys(query.json)).toContain('web');
  });

  it('DNS answers with the DNS token’s view: nothing until that token exists, then what it may read', async () => {
    const before = await dig(server.dnsPort!, ['web.service.consul', 'SRV']);
    expect(before.status).toBe('NXDOMAIN');
    await policy('dns-view', 'service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }');
    const made = await api('PUT', '/v1/acl/token', management.SecretID, { SecretID: DNS_SECRET, Description: 'dns', Policies: [{ Name: 'dns-view' }] });
    expect(made.status, made.text).toBe(200);
    secrets.push(DNS_SECRET);
    const web = await dig(server.dnsPort!, ['web.service.consul', 'SRV']);
    expect(web.status).toBe('NOERROR');
    expect(web.answer.filter((a) => a.type === 'SRV')).toHaveLength(1);
    const hidden = await dig(server.dnsPort!, ['api-public.service.consul', 'SRV']);
    expect(hidden.status).toBe('NXDOMAIN');
  });

  it('python-consul with tokens: denied, allowed, filtered', () => {
    const python = ensurePythonModule('consul', 'python3-consul');
    const r = spawnSync(
      python,
      [join(import.meta.dirname, 'fixtures', 'python_consul_acl.py'), server.httpHost, String(server.httpPort), reader.SecretID, webWriter.SecretID],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.reader_register).toMatch(/^denied: .*Permission denied/);
    // web-write may write only "web": py-web is refused for it.
    expect(out.writer_register_other).toMatch(/^denied: .*lacks permission 'service:write' on "py-web"/);
    expect(out.writer_register).toBe(true);
    expect(out.reader_services).toEqual(['api-public', 'consul', 'web']);
    expect(out.anonymous_services).toEqual([]);
    expect(out.reader_health).toEqual(['web-1', 'web-py-1']);
  });

  it('a read-only token cannot manage ACLs; a deleted token stops working at once; an unknown one gets ACL not found', async () => {
    const r = await api('PUT', '/v1/acl/policy', reader.SecretID, { Name: 'sneaky', Rules: 'service_prefix "" { policy = "write" }' });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/lacks permission 'acl:write'/);
    const temp = await token(['read-all']);
    expect((await api('GET', '/v1/catalog/services', temp.SecretID)).status).toBe(200);
    const del = await api('DELETE', `/v1/acl/token/${temp.AccessorID}`, management.SecretID);
    expect(del.json).toBe(true);
    const after = await api('GET', '/v1/catalog/services', temp.SecretID);
    expect(after.status).toBe(403);
    expect(after.text).toBe('ACL not found');
    expect(after.headers.get('x-beacon-error')).toBe('BEACON_ERR_ACL_NOT_FOUND');
    // A policy change applies at once too: read-all loses its service rule.
    const id = ((await api('GET', '/v1/acl/policy/name/read-all', management.SecretID)).json as { ID: string }).ID;
    const upd = await api('PUT', `/v1/acl/policy/${id}`, management.SecretID, { Name: 'read-all', Rules: 'node_prefix "" { policy = "read" }' });
    expect(upd.status).toBe(200);
    expect((await api('GET', '/v1/catalog/services', reader.SecretID)).json).toEqual({});
  });

  it('the beacon acl commands make policies and tokens, and say what failed', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BEACON_BIN, 'acl', ...args, '--http-addr', `${server.httpHost}:${server.httpPort}`], { encoding: 'utf8', timeout: 30_000 });
    const again = cli('bootstrap');
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^beacon: error bootstrapping ACLs: Permission denied: ACL bootstrap no longer allowed/);
    const pol = cli('policy', 'create', '--name', 'cli', '--rules', 'service "cli" { policy = "write" }', '--token', management.SecretID);
    expect(pol.stderr).toBe('');
    expect(pol.stdout).toMatch(/^ID: +[0-9a-f-]{36}\nName: +cli\n/);
    const tok = cli('token', 'create', '--description', 'from the cli', '--policy-name', 'cli', '--token', management.SecretID);
    expect(tok.status).toBe(0);
    const secret = /^SecretID: +(\S+)$/m.exec(tok.stdout)?.[1];
    expect(secret).toMatch(/^[0-9a-f-]{36}$/);
    secrets.push(secret!);
    const self = cli('token', 'read', '--self', '--token', secret!);
    expect(self.stdout).toMatch(/Description: +from the cli/);
    expect(self.stdout).not.toMatch(/SecretID/);
    const list = cli('token', 'list', '--token', management.SecretID);
    expect(list.stdout).toMatch(/from the cli/);
    expect(list.stdout.includes(secret!)).toBe(false);
    const denied = cli('policy', 'create', '--name', 'x', '--token', secret!);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/lacks permission 'acl:write'/);
    const badId = cli('token', 'delete', '--id', 'nope', '--token', management.SecretID);
    expect(badId.status).toBe(2);
    expect(badId.stderr).toMatch(/invalid --id "nope"/);
  });

  it('a server of another datacenter joins only with an agent token that may write agent here', async () => {
    const AGENT_SECRET = '0b6c6e57-8d2f-4c51-9e3a-7d1f5b2a9c40';
    const dc2 = await startServer({
      dnsAddr: 'off',
      args: ['--datacenter', 'dc2', '--acl-default-policy', 'deny', '--join-wan', server.httpUrl, '--wan-interval', '300ms', '--acl-agent-token', AGENT_SECRET],
    });
    try {
      const dcs = async () => (await api('GET', '/v1/catalog/datacenters')).json as unknown as string[];
      // Refused while no such token exists here (a bounded look: ten exchange periods).
      await new Promise((r) => setTimeout(r, 3000));
      expect(await dcs()).toEqual(['dc1']);
      await policy('servers', 'agent_prefix "" { policy = "write" }');
      const made = await api('PUT', '/v1/acl/token', management.SecretID, { SecretID: AGENT_SECRET, Description: 'servers', Policies: [{ Name: 'servers' }] });
      expect(made.status, made.text).toBe(200);
      secrets.push(AGENT_SECRET);
      let seen: string[] = [];
      for (let i = 0; i < 80 && !seen.includes('dc2'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        seen = await dcs();
      }
      expect(seen.sort()).toEqual(['dc1', 'dc2']);
    } finally {
      await dc2.stop();
    }
  });

  it('an agent syncs what its token may write, and is kept out without a token that may write its node', async () => {
    const AGENT_TOKEN = '5e0c8a8e-1f5d-4d7a-9d44-2b7a3c9e6f11';
    await policy(
      'agent-host-a',
      'node "host-a" { policy = "write" }\nservice "agent-web" { policy = "write" }\nservice_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }',
    );
    const made = await api('PUT', '/v1/acl/token', management.SecretID, { SecretID: AGENT_TOKEN, Policies: [{ Name: 'agent-host-a' }] });
    expect(made.status, made.text).toBe(200);
    secrets.push(AGENT_TOKEN);
    const start = (node: string, token: string | undefined) => {
      const dir = mkdtempSync(join(tmpdir(), 'beacon-acl-agent-'));
      const args = [BEACON_BIN, 'agent', '--server', server.httpUrl, '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', dir, '--node', node];
      const proc = spawn(process.execPath, [...args, ...(token ? ['--acl-agent-token', token] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
      return { proc, dir, out: () => out };
    };
    const waitFor = async (what: string, ok: () => Promise<boolean> | boolean) => {
      for (let i = 0; i < 120; i++) {
        if (await ok()) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`not within 30 s: ${what}`);
    };
    const good = start('host-a', AGENT_TOKEN);
    const bad = start('host-b', undefined);
    try {
      await waitFor('agent ready', () => /beacon agent ready http=(\S+)/.test(good.out()));
      const agentUrl = `http://${/beacon agent ready http=(\S+)/.exec(good.out())![1]}`;
      for (const [name, port] of [
        ['agent-web', 8080],
        ['agent-db', 5432],
      ] as const) {
        const r = await fetch(`${agentUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: name, Port: port }) });
        expect(r.status).toBe(200);
      }
      const services = async () => Object.keys((await api('GET', '/v1/catalog/node/host-a', management.SecretID)).json?.Services ?? {});
      await waitFor('agent-web synced', async () => (await services()).includes('agent-web'));
      expect(await services()).not.toContain('agent-db');
      // The agent without a token is refused (it says so) and never gets its node into the catalog.
      await waitFor('the tokenless agent refused', () => /lacks permission 'node:write' on \\?"host-b/.test(bad.out()));
      const hostB = await api('GET', '/v1/catalog/node/host-b', management.SecretID);
      expect(hostB.json).toBeNull();
    } finally {
      for (const a of [good, bad]) {
        a.proc.kill('SIGKILL');
        rmSync(a.dir, { recursive: true, force: true });
      }
    }
  });

  it('never shows a secret after creation: not in token reads, lists, /metrics or the logs', async () => {
    const self = await api('GET', '/v1/acl/token/self', webWriter.SecretID);
    expect(self.json.AccessorID).toBe(webWriter.AccessorID);
    const texts = [
      self.text,
      (await api('GET', `/v1/acl/token/${webWriter.AccessorID}`, management.SecretID)).text,
      (await api('GET', '/v1/acl/tokens', management.SecretID)).text,
      (await api('GET', '/metrics', management.SecretID)).text,
      server.output(),
    ];
    expect(texts[1]).toMatch(/"AccessorID"/);
    for (const t of texts) for (const s of secrets) expect(t.includes(s), `a secret appears in: ${t.slice(0, 200)}`).toBe(false);
  });
});
