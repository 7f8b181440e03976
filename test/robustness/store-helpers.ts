/**
 * Helpers for the store fault tests: a server run that is expected to exit (a refused start),
 * catalog registrations of external nodes (anti-entropy does not put those back, so what the
 * store lost stays visible), and the write-ahead log's layout.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BEACON_BIN, REPO_ROOT } from '../helpers/server.js';

/** Runs `beacon server` on `dataDir` expecting it to exit by itself; resolves with its exit code and output. */
export function runUntilExit(dataDir: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(
    process.execPath,
    [BEACON_BIN, 'server', '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', dataDir, '--node', 'test-node', '--log-level', 'warn', ...args],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A start that does not refuse would serve forever: stop it, and the test fails on its exit code.
  const guard = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    proc.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Registers an external node with one service through the catalog; resolves with the status and error code header. */
export async function registerExternal(httpUrl: string, i: number, meta: Record<string, string> = {}): Promise<{ status: number; code: string | null }> {
  const res = await fetch(`${httpUrl}/v1/catalog/register`, {
    method: 'PUT',
    body: JSON.stringify({
      Node: `ext-${i}`,
      Address: `10.1.${Math.floor(i / 250)}.${i % 250}`,
      Service: { ID: `pay-${i}`, Service: 'pay', Port: 9000 + (i % 1000), Meta: meta },
    }),
  });
  await res.text();
  return { status: res.status, code: res.headers.get('x-beacon-error') };
}

/** The external nodes (ext-<i>) in the catalog, as their numbers, sorted. */
export async function externalNodes(httpUrl: string): Promise<number[]> {
  const nodes = (await fetch(`${httpUrl}/v1/catalog/nodes`).then((r) => r.json())) as Array<{ Node: string }>;
  return nodes
    .map((n) => /^ext-(\d+)$/.exec(n.Node))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Byte offset of the page data of frame `frame` (1-based) in a write-ahead log, and the number of frames carrying the header's salts. */
export function walLayout(path: string): { pageSize: number; frameOffset(frame: number): number; currentFrames: number } {
  const buf = readFileSync(path);
  const pageSize = buf.readUInt32BE(8);
  const salt1 = buf.readUInt32BE(16);
  const salt2 = buf.readUInt32BE(20);
  const frameBytes = 24 + pageSize;
  let currentFrames = 0;
  for (let f = 1; 32 + f * frameBytes <= buf.length; f++) {
    const at = 32 + (f - 1) * frameBytes;
    if (buf.readUInt32BE(at + 8) === salt1 && buf.readUInt32BE(at + 12) === salt2) currentFrames = f;
  }
  return { pageSize, frameOffset: (frame) => 32 + (frame - 1) * frameBytes + 24, currentFrames };
}
