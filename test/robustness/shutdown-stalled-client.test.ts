/**
 * SIGTERM while a client holds a request open (it announced 100 body bytes and sent 7) and
 * others keep registering: a real `beacon server` lets running requests finish for its grace
 * period, cuts what is left, closes the store, exits 0 with one log line naming what it cut,
 * and a restart on the same data dir has every registration it acknowledged. Bounds are
 * generous; nothing asserts how long shutdown took.
 */
import net from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

const BOUND_MS = 60_000;
const servers: RunningServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop({ keepData: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Resolves with the exit code, or rejects when the process is still running after the bound. */
function exitOf(s: RunningServer): Promise<number | null> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return Promise.resolve(s.proc.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`still running ${BOUND_MS} ms after SIGTERM:\n${s.output()}`)), BOUND_MS);
    s.proc.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

describe('shutdown with a stalled client', { timeout: 4 * BOUND_MS }, () => {
  it('cuts the stalled request after the grace period, exits 0 saying what it cut, and keeps every acknowledged registration', async () => {
    const dataDir = tempDir('beacon-shutdown-stalled-');
    dirs.push(dataDir);
    const s = await startServer({ dnsAddr: 'off', dataDir, args: ['--shutdown-grace', '2s', '--log-level', 'info'] });
    servers.push(s);

    // The stalled client: headers announcing 100 bytes, then 7 of them.
    const stalled = net.connect(s.httpPort, s.httpHost);
    stalled.on('error', () => undefined);
    const stalledClosed = new Promise<void>((r) => stalled.once('close', () => r()));
    await new Promise<void>((r) => stalled.once('connect', () => r()));
    stalled.write('PUT /v1/agent/service/register HTTP/1.1\r\nHost: beacon\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Name":');

    // Writers registering as fast as they are answered, until the server stops answering.
    const acked: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        try {
          const r = await fetch(`${s.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'stream', ID: id, Port: 1000 + i }) });
          await r.arrayBuffer();
          if (r.status === 200) acked.push(id);
          else if (r.headers.get('x-beacon-error') === 'BEACON_ERR_SHUTTING_DOWN') return;
          else throw new Error(`unexpected ${r.status} ${r.headers.get('x-beacon-error')}`);
        } catch (err) {
          if ((err as Error).message.startsWith('unexpected')) throw err;
          return; // the connection went with the server
        }
      }
    });
    const deadline = Date.now() + BOUND_MS;
    while (acked.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(acked.length).toBeGreaterThanOrEqual(200);

    s.proc.kill('SIGTERM');
    const code = await exitOf(s);
    stop = true;
    await Promise.all(writers);
    await stalledClosed;
    expect(code, s.output()).toBe(0);

    // One line says what was cut: the stalled connection and its request (at least).
    const stopped = s
      .output()
      .split('\n')
      .filter((l) => l.includes('beacon server stopped'));
    expect(stopped, s.output()).toHaveLength(1);
    const line = JSON.parse(stopped[0]) as { level: number; msg: string; cutConnections: number; cutRequests: number };
    expect(line.msg).toMatch(/the 2s shutdown grace period ran out and cut [1-9]\d* connections? with [1-9]\d* requests? in flight$/);
    expect(line.cutConnections).toBeGreaterThanOrEqual(1);
    expect(line.cutRequests).toBeGreaterThanOrEqual(1);
    expect(line.level).toBe(40);
    // The store was closed on the way out.
    expect(s.output()).toMatch(/"msg":"embedded store closed"/);

    const again = await startServer({ dnsAddr: 'off', dataDir });
    servers.push(again);
    const services = (await (await fetch(`${again.httpUrl}/v1/agent/services`)).json()) as Record<string, { Port: number }>;
    const missing = acked.filter((id) => !(id in services));
    expect(missing, `lost ${missing.length} of ${acked.length} acknowledged registrations`).toEqual([]);
  });

  it('a SIGTERM sent the moment the ready line is read is handled: exit 0, and with nothing running only "stopped" is said', async () => {
    const s = await startServer({ dnsAddr: 'off', args: ['--log-level', 'info'] });
    servers.push(s);
    // (The handlers used to go in after the ready line: a signal sent at once killed the process.)
    s.proc.kill('SIGTERM');
    expect(await exitOf(s)).toBe(0);
    const stopped = s
      .output()
      .split('\n')
      .filter((l) => l.includes('beacon server stopped'));
    expect(stopped).toHaveLength(1);
    expect(JSON.parse(stopped[0])).toMatchObject({ level: 30, msg: 'beacon server stopped' });
  });

  it('refuses a shutdown grace out of range with one line', async () => {
    const s = startServer({ dnsAddr: 'off', args: ['--shutdown-grace', '10ms'] });
    await expect(s).rejects.toThrow(
      /exited with 1 before ready:\s*beacon: invalid shutdownGrace: "10ms" must be a duration like 5s or 1m, from 1s to 10m0s\s*$/,
    );
  });
});
