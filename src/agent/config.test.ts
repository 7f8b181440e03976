import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isBeaconError } from '../errors/index.js';
import { buildAgentConfig } from './config.js';
import { loadConfigDir } from './config-dir.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dirWith(files: Record<string, unknown>): string {
  const d = mkdtempSync(join(tmpdir(), 'beacon-agent-cfg-'));
  dirs.push(d);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(d, name), typeof body === 'string' ? body : JSON.stringify(body));
  return d;
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; field: string | undefined }> {
  try {
    await p;
  } catch (err) {
    if (isBeaconError(err)) return { code: err.code, message: err.message, field: err.field };
    throw err;
  }
  throw new Error('accepted');
}

const policy = { enableScriptChecks: false, fromLocalFile: true };

describe('buildAgentConfig', () => {
  it('takes server URLs, adds the default port and drops duplicates', () => {
    const c = buildAgentConfig({ servers: ['10.0.0.1', 'http://10.0.0.2:9500', 'http://10.0.0.1:8500'], node: 'h1' });
    expect(c.servers).toEqual(['http://10.0.0.1:8500', 'http://10.0.0.2:9500']);
    expect(c.base.node).toBe('h1');
    expect(c.base.dataDir).toBe('./agent-data');
    expect(c.configDir).toBeNull();
    expect(Object.isFrozen(c)).toBe(true);
    expect(buildAgentConfig({ servers: 'http://a:1,http://b:2' }).servers).toEqual(['http://a:1', 'http://b:2']);
  });

  it.each([
    [{}, 'server'],
    [{ servers: [] }, 'server'],
    [{ servers: ['ftp://x:1'] }, 'server'],
    [{ servers: ['http://x:1/v1'] }, 'server'],
    [{ servers: ['http://x:99999'] }, 'server'],
    [{ servers: ['http://x'], store: 'embedded' }, 'store'],
    [{ servers: ['http://x'], configDir: ' ' }, 'configDir'],
    [{ servers: ['http://x'], httpAddr: 'nope' }, 'httpAddr'],
  ])('refuses %j naming %s', (raw, field) => {
    try {
      buildAgentConfig(raw);
      throw new Error('accepted');
    } catch (err) {
      expect(isBeaconError(err) && err.code).toBe('BEACON_ERR_CONFIG');
      expect(isBeaconError(err) && err.field).toBe(field);
    }
  });
});

describe('loadConfigDir', () => {
  it("reads every *.json in Consul's shapes, in name order", async () => {
    const d = dirWith({
      'a.json': { service: { name: 'web', port: 80, check: { ttl: '10s' } } },
      'b.json': { services: [{ Name: 'api', ID: 'api1', Port: 81 }], checks: [{ Name: 'disk', TTL: '30s' }] },
      'c.json': { check: { Name: 'api-alive', ServiceID: 'api1', TCP: '127.0.0.1:81', Interval: '5s' } },
      'notes.txt': 'ignored',
    });
    const defs = await loadConfigDir(d, 'h1', policy);
    expect(defs.services.map((s) => s.service.ID)).toEqual(['web', 'api1']);
    expect(defs.services[0].checks.map((c) => c.Type)).toEqual(['ttl']);
    expect(defs.checks.map((c) => [c.CheckID, c.ServiceID])).toEqual([
      ['disk', ''],
      ['api-alive', 'api1'],
    ]);
  });

  it.each([
    [{ 'x.json': '{ not json' }, 'x.json', 'not valid JSON'],
    [{ 'x.json': '[1]' }, 'x.json', 'must be a JSON object'],
    [{ 'x.json': { servce: {} } }, 'x.json', 'servce: unknown key'],
    [{ 'x.json': { service: { Name: 'web', Port: 'eighty' } } }, 'x.json', 'Port'],
    [{ 'x.json': { services: { Name: 'web' } } }, 'x.json', 'services: must be a list'],
    [{ 'x.json': { services: [{ Name: 'ok' }, { Port: 1 }] } }, 'x.json', 'services[1]'],
    [{ 'x.json': { service: { Name: 'web' } }, 'y.json': { service: { Name: 'web' } } }, 'y.json', 'defined twice'],
    [{ 'x.json': { check: { Name: 'c', ServiceID: 'ghost', TTL: '1s' } } }, 'x.json', 'ghost'],
    [{ 'x.json': { check: { Name: 's', Args: ['/bin/true'], Interval: '1s' } } }, 'x.json', 'check'],
  ])('refuses a bad file %#, naming the file and the field', async (files, file, text) => {
    const d = dirWith(files);
    const r = await refusal(loadConfigDir(d, 'h1', policy));
    expect(r.code).toBe('BEACON_ERR_CONFIG');
    expect(r.message).toContain(join(d, file));
    expect(r.message).toContain(text);
  });

  it('a missing dir is a config error', async () => {
    const r = await refusal(loadConfigDir('/nonexistent/beacon-agent-cfg', 'h1', policy));
    expect(r.field).toBe('configDir');
  });
});
