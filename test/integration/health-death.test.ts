/**
 * End to end: an instance whose process dies (a real child process, SIGKILLed) is gone from
 * /v1/health/service/:name?passing within interval × failures + timeout + 1 s (HTTP check),
 * or within its TTL + 1 s (a process that heartbeats).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { passingIds, putOk, until } from './health-helpers.js';

let server: RunningServer;
const children = new Set<ChildProcess>();

/** Starts a node child process running `code`; resolves with its first stdout line. */
function child(code: string): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
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
  it('with an HTTP check (1 s interval, 1 s timeout, 2 failures) leaves ?passing within 4 s', async () => {
    const { proc, line } = await child(`
      const srv = require('node:http').createServer((q, s) => s.end('ok'));
      srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
    `);
    const port = Number(line);
    await putOk(server, '/v1/agent/service/register', {
      Name: 'victim', ID: 'victim-1', Address: '127.0.0.1', Port: port,
      Check: { HTTP: `http://127.0.0.1:${port}/health`, Interval: '1s', Timeout: '1s' },
    });
    await until('victim passing', async () => (await passingIds(server, 'victim')).includes('victim-1'), 5000);
    await killed(proc);
    const died = Date.now();
    await until('victim gone from ?passing', async () => !(await passingIds(server, 'victim')).includes('victim-1'), 6000);
    expect(Date.now() - died).toBeLessThan(1000 * 2 + 1000 + 1000);
  });

  it('that heartbeats a 1 s TTL leaves ?passing within 2 s, and stays registered', async () => {
    await putOk(server, '/v1/agent/service/register', { Name: 'beater', ID: 'beater-1', Check: { TTL: '1s' } });
    const { proc } = await child(`
      const beat = () => fetch(${JSON.stringify(`${server.httpUrl}/v1/agent/check/pass/service:beater-1`)}, { method: 'PUT' }).catch(() => {});
      beat().then(() => console.log('beating'));
      setInterval(beat, 250);
    `);
    await until('beater passing', async () => (await passingIds(server, 'beater')).includes('beater-1'), 5000);
    await killed(proc);
    const died = Date.now();
    await until('beater gone from ?passing', async () => !(await passingIds(server, 'beater')).includes('beater-1'), 5000);
    expect(Date.now() - died).toBeLessThan(1000 + 1000);
    const all = await fetch(`${server.httpUrl}/v1/health/service/beater`).then((r) => r.json() as Promise<unknown[]>);
    expect(all).toHaveLength(1);
  });
});
