/**
 * Finds a system tool the tests need, installing its Debian package when it is missing and the
 * tests run as root (scripts/ensure-tools.sh does the same for CI); otherwise fails with what to
 * install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

function aptInstall(debianPackage: string): void {
  if (process.getuid?.() !== 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', debianPackage], { env, stdio: 'ignore', timeout: 300_000 });
  if (install().status !== 0) {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 });
    install();
  }
}

export function ensureTool(binary: string, debianPackage: string): string {
  const found = (): string | undefined => {
    for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin']) if (existsSync(`${dir}/${binary}`)) return `${dir}/${binary}`;
    const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  let path = found();
  if (!path) {
    aptInstall(debianPackage);
    path = found();
  }
  if (!path) throw new Error(`${binary} is missing: install Debian's ${debianPackage} (apt-get install -y ${debianPackage})`);
  return path;
}

/** Debian's own python3 with `module` importable (installing `debianPackage` if needed). */
export function ensurePythonModule(module: string, debianPackage: string): string {
  const python = '/usr/bin/python3';
  const ok = () => existsSync(python) && spawnSync(python, ['-c', `import ${module}`]).status === 0;
  if (!ok()) aptInstall(debianPackage);
  if (!ok()) throw new Error(`python module ${module} is missing: install Debian's ${debianPackage} (apt-get install -y ${debianPackage})`);
  return python;
}

/** A free TCP port on 127.0.0.1 (for tools that cannot take port 0). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
