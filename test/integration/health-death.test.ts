/**
 * End to end: an instance whose process dies (a real child process, SIGKILLed) leaves
 * /v1/health/service/:name?passing because its check turns critical (HTTP check: the target is
 * gone; TTL check: the heartbeats stopped), and stays registered. How soon is the schedule of
 * the check runners, asserted on the fake clock in src/health (active-check, ttl-check); here
 * the bounds are only generous limits for a machine under load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { checkOf, passingIds, putOk, until } from './health-helpers.js';

let server: RunningServer;
const children = new Set<ChildProcess>();

/** Starts a node child process running `code`; resolves with its first stdout line. */
function child(code: string): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ proc, line: out.slice(0, nl) });
    });
    proc.once('exit', (c) => reject(new Error(`child exited with ${c} before it was ready`)));
  });
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
});
afterAll(async () => {
  for (const p of children) p.kill('SIGKILL');
  await server?.stop();
});

describe('an instance whose process dies', () => {
  it('with an HTTP check (1 s interval, 1 s timeout, 2 failures) leaves ?passing once its check fails', async () => {
    const { proc, line } = await child(`
      const srv = require('node:http').createServer((q, s) => s.end('ok'));
      srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
    `);
    const port = Number(line);
    await putOk(server, '/v1/agent/service/register', {
      Name: 'victim',
      ID: 'victim-1',
      Address: '127.0.0.1',
      Port: port,
      Check: { HTTP: `http://127.0.0.1:${port}/health`, Interval: '1s', Timeout: '1s' },
    });
    await until('victim passing', async () => (await passingIds(server, 'victim')).includes('victim-1'), 20_000);
    await killed(proc);
    await until('victim gone from ?passing', async () => !(await passingIds(server, 'victim')).includes('victim-1'), 20_000);
    const check = await checkOf(server, 'service:victim-1');
    expect(check?.Status).toBe('critical');
    expect(check?.Output).not.toBe('');
    const all = await fetch(`${server.httpUrl}/v1/health/service/victim`).then((r) => r.json() as Promise<unknown[]>);
    expect(all).toHaveLength(1);
  });

  it('that heartbeats a 1 s TTL leaves ?passing once the TTL runs out, and stays registered', async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'beater', ID: 'beater-1', Check: { TTL: '1s' } });
    const { proc } = await child(`
      const beat = () => fetch(${JSON.stringify(`${server.httpUrl}/v1/agent/check/pass/service:beater-1`)}, { method: 'PUT' }).catch(() => {});
      beat().then(() => console.log('beating'));
      setInterval(beat, 250);
    `);
    await until('beater passing', async () => (await passingIds(server, 'beater')).includes('beater-1'), 20_000);
    await killed(proc);
    await until('beater gone from ?passing', async () => !(await passingIds(server, 'beater')).includes('beater-1'), 20_000);
    const check = await checkOf(server, 'service:beater-1');
    expect(check?.Status).toBe('critical');
    expect(check?.Output).toMatch(/^TTL expired/);
    const all = await fetch(`${server.httpUrl}/v1/health/service/beater`).then((r) => r.json() as Promise<unknown[]>);
    expect(all).toHaveLength(1);
  });
});
