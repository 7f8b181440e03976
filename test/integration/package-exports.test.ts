/** The package's entry points resolve by name, as an application importing Beacon sees them. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/server.js';

const run = (code: string) => spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });

describe('package exports', () => {
  it("'beacon/client' gives the SDK (which imports no server code: a lint rule keeps it so)", () => {
    const r = run(`
      const m = await import('beacon/client');
      console.log(JSON.stringify({ client: typeof m.BeaconClient, balancer: typeof m.createBalancer }));
    `);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ client: 'function', balancer: 'function' });
  });

  it("'beacon' embeds a server", () => {
    const r = run(`
      import { mkdtempSync, rmSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const { buildConfig, runServer } = await import('beacon');
      const dir = mkdtempSync(join(tmpdir(), 'beacon-embed-'));
      const s = await runServer(buildConfig({ httpAddr: '127.0.0.1:0', dnsAddr: 'off', dataDir: dir, node: 'embedded', logLevel: 'silent' }));
      const res = await fetch('http://127.0.0.1:' + s.http.port + '/v1/agent/self');
      console.log((await res.json()).Config.NodeName);
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    `);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('embedded');
  });
});
