/**
 * Services and checks defined in the config file (Consul's agent `services` / `checks`), and
 * --enable-local-script-checks: script checks allowed from that file only, not from the API.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BEACON_BIN, startServer, tempDir, type RunningServer } from '../helpers/server.js';

const dirs: string[] = [];
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function configFile(body: object): string {
  const dir = tempDir('beacon-conf-');
  dirs.push(dir);
  const file = join(dir, 'beacon.json');
  writeFileSync(file, JSON.stringify(body));
  return file;
}

describe('config-file definitions', () => {
  it("registers the file's services and runs their script checks with --enable-local-script-checks only", async () => {
    const file = configFile({
      services: [
        { name: 'billing', id: 'billing-1', port: 7100, tags: ['from-file'], check: { args: ['sh', '-c', 'echo ok; exit 0'], interval: '1s' } },
        { Name: 'audit', Port: 7200 },
      ],
      checks: [{ Name: 'disk', Args: ['sh', '-c', 'exit 1'], Interval: '1s' }],
    });
    const s = await startServer({ dnsAddr: 'off', args: ['--config', file, '--enable-local-script-checks', '--check-failures-before-critical', '1'] });
    servers.push(s);
    const services = (await (await fetch(`${s.httpUrl}/v1/agent/services`)).json()) as Record<string, { Tags: string[] }>;
    expect(services['billing-1']?.Tags).toEqual(['from-file']);
    expect(services.audit).toBeDefined();

    // The file's script checks run: the service check passes, the node check (exit 1) warns.
    const deadline = Date.now() + 8000;
    let checks: Record<string, { Status: string; Output: string }> = {};
    while (Date.now() < deadline) {
      checks = (await (await fetch(`${s.httpUrl}/v1/agent/checks`)).json()) as typeof checks;
      if (checks['service:billing-1']?.Status === 'passing' && checks.disk?.Status === 'warning') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(checks['service:billing-1']).toMatchObject({ Status: 'passing' });
    expect(checks['service:billing-1'].Output).toContain('ok');
    expect(checks.disk?.Status).toBe('warning');

    // The same kind of check from the API is still refused: local means the config file.
    const r = await fetch(`${s.httpUrl}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({ Name: 'x', Check: { Args: ['true'], Interval: '5s' } }),
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/--enable-script-checks/);
  });

  it('stops the start with one line naming a bad definition', () => {
    const file = configFile({ services: [{ Name: 'ok', Port: 1 }, { Port: 99999 }] });
    const dir = tempDir();
    dirs.push(dir);
    const r = spawnSync(
      process.execPath,
      [BEACON_BIN, 'server', '--config', file, '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', dir, '--log-level', 'silent'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/invalid services\[1\] in the config file: Invalid Port: must be <= 65535/);
  });

  it('refuses a script check in the file when neither flag is set', () => {
    const file = configFile({ checks: [{ Name: 'disk', Args: ['true'], Interval: '10s' }] });
    const dir = tempDir();
    dirs.push(dir);
    const r = spawnSync(
      process.execPath,
      [BEACON_BIN, 'server', '--config', file, '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', dir, '--log-level', 'silent'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid checks\[0\] in the config file: .*Scripts are disabled/);
  });
});
