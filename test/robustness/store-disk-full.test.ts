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
import { dig, ensureDig } from '../helpers/dns-dig.js';
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

  it('never answers passing for what it could not record: a TTL that expires on a full disk shows critical everywhere, the server says so, and the status is written once space is back', async (ctx) => {
    if (!mounted) {
      console.warn(`SKIPPED store-disk-full: ${skipReason ?? 'no tmpfs'}`);
      ctx.skip();
      return;
    }
    ensureDig();
    const dataDir = join(mountPoint!, 'health');
    mkdirSync(dataDir);
    const filler = join(mountPoint!, 'filler-3');
    const server = await startServer({ dataDir, args: ['--log-level', 'info'] });
    servers.push(server);
    const url = server.httpUrl;
    const put = (path: string, body?: unknown) =>
      fetch(`${url}${path}`, { method: 'PUT', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    const get = async (path: string) => {
      const r = await fetch(`${url}${path}`);
      return { headers: r.headers, body: await r.json() };
    };
    expect((await put('/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 8080, Address: '127.0.0.1', Check: { TTL: '3s' } })).status).toBe(200);
    expect((await put('/v1/agent/check/pass/service:web-1')).status).toBe(200);
    await vi.waitFor(async () => expect((await get('/v1/health/service/web?passing')).body).toHaveLength(1), { timeout: 20_000, interval: 100 });

    // The disk fills up and a write finds out; then the heartbeats stop.
    let refused = 0;
    for (let attempts = 0; refused === 0; attempts++) {
      expect(attempts, 'writes kept succeeding on a full disk').toBeLessThan(500);
      fill(filler);
      if ((await registerExternal(url, attempts)).status === 503) refused++;
    }
    type Entry = { Checks: { CheckID: string; Status: string; Output: string }[] };
    await vi.waitFor(
      async () => {
        const r = await get('/v1/health/service/web');
        const check = (r.body as Entry[])[0]?.Checks.find((c) => c.CheckID === 'service:web-1');
        expect(check?.Status).toBe('critical');
        expect(check?.Output).toMatch(/TTL expired/);
      },
      { timeout: 60_000, interval: 200 },
    );
    // Every answer says the store is not taking writes; the instance leaves ?passing and DNS;
    // the server's own node shows critical.
    const passing = await get('/v1/health/service/web?passing');
    expect(passing.body).toEqual([]);
    expect(passing.headers.get('x-consul-knownleader')).toBe('false');
    expect(passing.headers.get('x-beacon-store')).toBe('not-writable');
    expect((await get('/v1/status/leader')).body).toBe('');
    const serf = ((await get('/v1/health/node/test-node')).body as { CheckID: string; Status: string; Output: string }[]).find(
      (c) => c.CheckID === 'serfHealth',
    );
    expect(serf).toMatchObject({ Status: 'critical' });
    expect(serf?.Output).toMatch(/cannot write to its store/);
    const a = await dig(server.dnsPort!, ['web.service.consul', 'A']);
    expect(a.answer).toEqual([]);
    const metrics = await fetch(`${url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^beacon_store_writable 0$/m);
    expect(metrics).toMatch(/^beacon_catalog_pending_statuses [1-9]/m);

    // Space is back: the store takes writes by itself, the decided status is written, and the
    // answers say the store is fine again.
    rmSync(filler);
    await vi.waitFor(
      async () => {
        const r = await get('/v1/agent/checks');
        expect(r.headers.get('x-consul-knownleader')).toBe('true');
        const m = await fetch(`${url}/metrics`).then((x) => x.text());
        expect(m).toMatch(/^beacon_catalog_pending_statuses 0$/m);
      },
      { timeout: 90_000, interval: 250 },
    );
    expect(((await get('/v1/agent/checks')).body as Record<string, { Status: string }>)['service:web-1']?.Status).toBe('critical');
    // The critical status is in the store, not only in memory: a restart still has it.
    await server.stop({ keepData: true });
    servers.splice(servers.indexOf(server), 1);
    const again = await startServer({ dataDir, dnsAddr: 'off' });
    servers.push(again);
    const after = (await fetch(`${again.httpUrl}/v1/health/checks/web`).then((r) => r.json())) as { Status: string; Output: string }[];
    expect(after[0]).toMatchObject({ Status: 'critical' });
    expect(after[0].Output).toMatch(/TTL expired/);
  }, 240_000);

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
      const logger = {
        info: () => undefined,
        debug: () => undefined,
        error: () => undefined,
        warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''),
      };
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
