/** The package's entry points resolve by name, as an application importing Beacon sees them. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/server.js';

const run = (code: string) => spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });

describe('package exports', () => {
  it("'beacon/client' gives the SDK (which imports no server code: a lint rule and the dist import walk below keep it so)", () => {
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

const DIST_CLIENT = join(REPO_ROOT, 'dist', 'client');

/** Every module specifier a built file imports: static imports/re-exports and import() (also type-only `import("…")`). */
function specifiers(code: string): string[] {
  const out: string[] = [];
  // Top-level statements start at column 0; doc comments (` * import …`) do not.
  for (const m of code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gms)) out.push(m[1]);
  for (const m of code.matchAll(/^import\s*['"]([^'"]+)['"]/gm)) out.push(m[1]);
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Imports of the built SDK that leave it: a relative path outside dist/client, or a package other than undici. */
function escapes(files: readonly string[]): string[] {
  const bad: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (target !== DIST_CLIENT && !target.startsWith(DIST_CLIENT + sep)) bad.push(`${relative(REPO_ROOT, file)} -> ${spec}`);
      } else if (!spec.startsWith('node:') && spec !== 'undici') {
        bad.push(`${relative(REPO_ROOT, file)} -> ${spec}`);
      }
    }
  }
  return bad;
}

describe('the SDK as a consumer package sees it', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the built SDK (code and types) imports only itself, node: built-ins and undici', () => {
    const files = filesUnder(DIST_CLIENT).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
    expect(files.length).toBeGreaterThan(40);
    expect(escapes(files)).toEqual([]);
    // The check itself sees what it must refuse.
    const probe = join(tempDir('beacon-probe-'), 'x.js');
    dirs.push(dirname(probe));
    writeFileSync(probe, "import { x } from '../../dist/store/index.js';\nexport { y } from 'fastify';\nconst z = await import('pino');\n");
    expect(specifiers(readFileSync(probe, 'utf8'))).toEqual(['../../dist/store/index.js', 'fastify', 'pino']);
    expect(escapes([probe])).toHaveLength(3);
  });

  it("a separate package imports { BeaconClient } from 'beacon/client', type-checks against its types and runs it", () => {
    const app = tempDir('beacon-consumer-');
    dirs.push(app);
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
    symlinkSync(REPO_ROOT, join(app, 'node_modules', 'beacon'), 'dir');
    symlinkSync(join(REPO_ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    const appTs = `import { BeaconClient, type ServiceSnapshot, type StrategyName } from 'beacon/client';
const beacon = new BeaconClient({ servers: ['http://127.0.0.1:8500'], static: { payments: ['127.0.0.1:9'] }, deregisterOnSignals: false });
const strategy: StrategyName = 'p2c-ewma';
const snap: ServiceSnapshot = await beacon.discover('payments');
const port: number = snap.instances[0]!.port;
console.log(JSON.stringify({ mode: beacon.mode, strategy, port, stale: snap.stale }));
await beacon.close();
`;
    writeFileSync(join(app, 'app.ts'), appTs);
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const ok = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    // The types are really checked: a wrong option type is an error.
    writeFileSync(join(app, 'app.ts'), appTs.replace("servers: ['http://127.0.0.1:8500']", 'servers: 8500'));
    const bad = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/app\.ts.*servers|TS2322/s);
    // And it runs, resolved by name from the consumer's node_modules.
    writeFileSync(
      join(app, 'app.mjs'),
      appTs
        .replace(', type ServiceSnapshot, type StrategyName', '')
        .replace(/: (StrategyName|ServiceSnapshot|number)/g, '')
        .replace(/!\./g, '.'),
    );
    expect(existsSync(join(app, 'node_modules', 'beacon', 'dist', 'client', 'index.d.ts'))).toBe(true);
    const run = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ mode: 'static', strategy: 'p2c-ewma', port: 9, stale: false });
  }, 180_000);
});
