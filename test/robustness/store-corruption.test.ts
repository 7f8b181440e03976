/**
 * Damaged store data against real `beacon server` processes: the server refuses to start with
 * one line naming the file and what was found, and `--recover` starts with what is readable and
 * logs what was lost. Needs `npm run build`.
 */
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { externalNodes, registerExternal, runUntilExit, walLayout } from './store-helpers.js';

const servers: RunningServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, args: string[] = []): Promise<RunningServer> {
  const s = await startServer({ dataDir, args, dnsAddr: 'off' });
  servers.push(s);
  return s;
}

function dataDir(): string {
  const d = tempDir('beacon-corrupt-');
  dirs.push(d);
  return d;
}

/** The one line a refused start prints. */
function refusal(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  return lines[0];
}

describe('damaged store data', () => {
  it('a flipped byte mid write-ahead log after 300 acknowledged registrations: refuses to start naming the file; --recover starts and logs what was lost', async () => {
    const dir = dataDir();
    const a = await start(dir);
    for (let i = 0; i < 300; i++) expect((await registerExternal(a.httpUrl, i)).status).toBe(200);
    // kill -9: the log is left as it was (a clean stop checkpoints and empties it).
    await a.kill();
    servers.splice(servers.indexOf(a), 1);
    const wal = join(dir, 'beacon.db-wal');
    const layout = walLayout(wal);
    expect(layout.currentFrames).toBeGreaterThan(100);
    const bytes = readFileSync(wal);
    bytes[layout.frameOffset(Math.floor(layout.currentFrames / 2)) + 1500] ^= 0x04;
    writeFileSync(wal, bytes);

    const refused = await runUntilExit(dir);
    expect(refused.code).toBe(1);
    const line = refusal(refused.stderr);
    expect(line).toMatch(
      new RegExp(
        `^beacon: data file ${join(dir, 'beacon.db')}: write-ahead log ends at frame \\d+ of ${layout.currentFrames} \\(frame \\d+: it fails its checksum; \\d+ committed transactions after it are dropped\\); \\d+ acknowledged revisions \\(\\d+\\.\\.\\d+\\) are missing; start with --recover to continue with what is readable$`,
      ),
    );
    const [, from, to] = /acknowledged revisions \((\d+)\.\.(\d+)\)/.exec(line)!.map(Number);
    // Refusing changed nothing: the same finding again.
    expect(refusal((await runUntilExit(dir)).stderr)).toBe(line);

    const b = await start(dir, ['--recover']);
    expect(b.output()).toContain(
      `store started with --recover at revision ${to}: ${to - from + 1} acknowledged revisions (${from}..${to}) lost, keys affected unknown`,
    );
    expect(b.output()).toMatch(/the damaged files are kept as \S+beacon\.db-wal\.damaged-\d+/);
    // What survived is the history up to the break, in order: the first registrations.
    const kept = await externalNodes(b.httpUrl);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(300);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => i));
    expect((await registerExternal(b.httpUrl, 1000)).status).toBe(200);
    await b.stop({ keepData: true });
    servers.splice(servers.indexOf(b), 1);
    // Recovered for good: a plain start works and keeps what was there.
    const c = await start(dir);
    expect(await externalNodes(c.httpUrl)).toEqual([...kept, 1000]);
  }, 120_000);

  it('a data file truncated to 0 bytes after acknowledged writes: refuses to start', async () => {
    const dir = dataDir();
    const a = await start(dir);
    for (let i = 0; i < 20; i++) expect((await registerExternal(a.httpUrl, i)).status).toBe(200);
    await a.stop({ keepData: true });
    servers.splice(servers.indexOf(a), 1);
    truncateSync(join(dir, 'beacon.db'), 0);

    const refused = await runUntilExit(dir);
    expect(refused.code).toBe(1);
    expect(refusal(refused.stderr)).toMatch(
      new RegExp(
        `^beacon: data file ${join(dir, 'beacon.db')}: the file is empty \\(0 bytes\\); \\d+ acknowledged revisions \\(2\\.\\.\\d+\\) are missing; start with --recover to set what is left aside and continue with an empty store$`,
      ),
    );

    const b = await start(dir, ['--recover']);
    expect(await externalNodes(b.httpUrl)).toEqual([]);
    expect(b.output()).toMatch(/store started with --recover at revision \d+: \d+ acknowledged revisions \(2\.\.\d+\) lost/);
  }, 60_000);

  it('a damaged stored value: the error names the key and the file; --recover drops that key and keeps the rest', async () => {
    const dir = dataDir();
    const a = await start(dir);
    for (let i = 0; i < 10; i++) expect((await registerExternal(a.httpUrl, i, { marker: `value-of-pay-${i}-end` })).status).toBe(200);
    // A clean stop moves everything from the log into beacon.db.
    await a.stop({ keepData: true });
    servers.splice(servers.indexOf(a), 1);
    const db = readFileSync(join(dir, 'beacon.db'));
    const marker = Buffer.from('"value-of-pay-7-end"');
    let hits = 0;
    for (let at = db.indexOf(marker); at >= 0; at = db.indexOf(marker, at + 1), hits++) db[at] = 0x21; // '"' -> '!'
    expect(hits).toBeGreaterThan(0);
    writeFileSync(join(dir, 'beacon.db'), db);

    const refused = await runUntilExit(dir);
    expect(refused.code).toBe(1);
    expect(refusal(refused.stderr)).toBe(
      `beacon: data file ${join(dir, 'beacon.db')}: key "beacon/catalog/services/ext-7/pay-7" is damaged (its stored value does not match its checksum); start with --recover to drop it and continue`,
    );

    const b = await start(dir, ['--recover']);
    expect(b.output()).toContain('1 damaged key dropped');
    expect(b.output()).toContain('beacon/catalog/services/ext-7/pay-7');
    const services = (await fetch(`${b.httpUrl}/v1/catalog/service/pay`).then((r) => r.json())) as Array<{ ServiceID: string }>;
    expect(services.map((s) => s.ServiceID).sort()).toEqual(['pay-0', 'pay-1', 'pay-2', 'pay-3', 'pay-4', 'pay-5', 'pay-6', 'pay-8', 'pay-9']);
  }, 60_000);
});
