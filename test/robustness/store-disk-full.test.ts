/**
 * A full disk under a real `beacon server`: the data dir is on a 2 MB tmpfs that the test fills
 * up. Writes answer 503 (BEACON_ERR_STORE_UNAVAILABLE) while it is full, take again by
 * themselves once space is freed (no restart), and every acknowledged write is there after a
 * restart; no refused one is. Mounting needs root (CAP_SYS_ADMIN): without it the test is
 * skipped, saying why. Needs `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isBeaconError } from '../../src/errors/index.js';
import { openStore } from '../../src/store/index.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { externalNodes, registerExternal } from './store-helpers.js';

let mountPoint: string | undefined;
let mounted = false;
let skipReason: string | undefined;
const servers: RunningServer[] = [];

beforeAll(() => {
  mountPoint = mkdtempSync(join(tmpdir(), 'beacon-diskfull-'));
  if (process.getuid?.() !== 0) {
    skipReason = `not root (uid ${process.getuid?.()}): cannot mount a tmpfs to fill`;
    return;
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    skipReason = `mount -t tmpfs -o size=2m failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  }
});

afterAll(async () => {
  for (const s of servers.splice(0)) await s.stop();
  if (mounted && mountPoint !== undefined) {
    for (let attempt = 0; ; attempt++) {
      try {
        execFileSync('umount', [mountPoint], { stdio: 'pipe' });
        break;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
  if (mountPoint !== undefined) rmSync(mountPoint, { recursive: true, force: true });
});

/** Appends to `path` until the file system is full. */
function fill(path: string): void {
  const fd = openSync(path, 'a');
  try {
    for (const size of [64 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe('disk full', () => {
  it('refuses writes with 503 while the disk is full, takes them again by itself once space is freed, and keeps every acknowledged one', async (ctx) => {
    if (!mounted) {
      console.warn(`SKIPPED store-disk-full: ${skipReason ?? 'no tmpfs'}`);
      ctx.skip();
      return;
    }
    const dataDir = join(mountPoint!, 'data');
    mkdirSync(dataDir);
    const filler = join(mountPoint!, 'filler');
    // Info level, to see the store say it is writable again.
    const server = await startServer({ dataDir, dnsAddr: 'off', args: ['--log-level', 'info'] });
    servers.push(server);
    const acknowledged: number[] = [];
    const refused: number[] = [];
    let next = 0;
    const register = async (): Promise<number> => {
      const i = next++;
      const { status, code } = await registerExternal(server.httpUrl, i, { pad: 'p'.repeat(300) });
      if (status === 200) acknowledged.push(i);
      else {
        expect({ status, code }).toEqual({ status: 503, code: 'BEACON_ERR_STORE_UNAVAILABLE' });
        refused.push(i);
      }
      return status;
    };

    for (let i = 0; i < 10; i++) expect(await register()).toBe(200);

    // Full: every attempt finds the disk full (the store may win back the space its own log
    // held with a checkpoint, so it is filled again before each one).
    fill(filler);
    for (let attempts = 0; refused.length < 10; attempts++) {
      expect(attempts, 'writes kept succeeding on a full disk').toBeLessThan(500);
      fill(filler);
      await register();
    }
    // Reads go on; refused registrations are nowhere, acknowledged ones are there.
    const during = await externalNodes(server.httpUrl);
    expect(during).toEqual(acknowledged);

    // Space is back: the store finds out by itself (its background retry, no write needed)
    // and takes writes again, without a restart.
    const recoveries = (): number => server.output().split('store writable again').length - 1;
    const before = recoveries();
    rmSync(filler);
    await vi.waitFor(() => expect(recoveries()).toBeGreaterThan(before), { timeout: 60_000, interval: 50 });
    for (let i = 0; i < 20; i++) expect(await register()).toBe(200);

    // Every acknowledged write survives a restart; no refused one appears.
    await server.stop({ keepData: true });
    servers.splice(servers.indexOf(server), 1);
    const again = await startServer({ dataDir, dnsAddr: 'off' });
    servers.push(again);
    expect(await externalNodes(again.httpUrl)).toEqual(acknowledged);
    expect(refused.length).toBeGreaterThanOrEqual(10);
  }, 180_000);

  it('opens a sound store on a full disk (the start-up checks need no space) and serves it', async (ctx) => {
    if (!mounted) {
      console.warn(`SKIPPED store-disk-full: ${skipReason ?? 'no tmpfs'}`);
      ctx.skip();
      return;
    }
    const dataDir = join(mountPoint!, 'store-only');
    mkdirSync(dataDir);
    const filler = join(mountPoint!, 'filler-2');
    const a = await openStore('embedded', { dataDir });
    const { revision } = await a.put('k', 'v');
    await a.close();
    fill(filler);
    try {
      const warnings: string[] = [];
      const logger = { info: () => undefined, debug: () => undefined, error: () => undefined, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
      const b = await openStore('embedded', { dataDir, logger });
      try {
        // The read-only check needs a shared-memory file SQLite cannot create on a full disk;
        // the same checks ran on the store's own connection.
        expect(warnings).toContain("the read-only start-up check could not run (is the disk full?); checking through the store's own connection");
        expect(await b.get('k')).toMatchObject({ value: 'v', modRevision: revision });
        const err = await b.put('k', 'w').catch((e: unknown) => e);
        expect(isBeaconError(err, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
        rmSync(filler);
        await vi.waitFor(async () => expect((await b.put('k', 'w')).revision).toBe(revision + 1), { timeout: 60_000, interval: 100 });
      } finally {
        await b.close();
      }
    } finally {
      rmSync(filler, { force: true });
    }
  }, 120_000);
});
