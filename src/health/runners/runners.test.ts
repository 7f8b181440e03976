import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult, Runner } from '../types.js';
import { GrpcRunner } from './grpc-runner.js';
import { HttpRunner } from './http-runner.js';
import { ScriptRunner } from './script-runner.js';
import { closedPort, grpcTarget, hangingScriptArgs, httpTarget, scriptArgs, tcpTarget, tlsFront } from './targets.test-suite.js';
import { TcpRunner } from './tcp-runner.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function run(r: Runner, timeoutMs = 2000): Promise<CheckResult> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  return r.run({ signal: ac.signal, timeoutMs }).finally(() => clearTimeout(t));
}

interface Kind {
  name: string;
  healthy(): Promise<Runner>;
  down(): Promise<Runner>;
  /** A target that takes the connection but never answers (none for TCP: a connect cannot be made to hang on loopback). */
  hanging?(): Promise<Runner>;
}

const kinds: Kind[] = [
  {
    name: 'http',
    async healthy() {
      const t = await httpTarget(200);
      cleanups.push(() => t.close());
      return new HttpRunner({ url: t.url, outputMax: 4096 });
    },
    async down() {
      return new HttpRunner({ url: `http://127.0.0.1:${await closedPort()}/health`, outputMax: 4096 });
    },
    async hanging() {
      const t = await httpTarget('hang');
      cleanups.push(() => t.close());
      return new HttpRunner({ url: t.url, outputMax: 4096 });
    },
  },
  {
    name: 'tcp',
    async healthy() {
      const t = await tcpTarget();
      cleanups.push(() => t.close());
      return new TcpRunner(t.addr);
    },
    async down() {
      return new TcpRunner(`127.0.0.1:${await closedPort()}`);
    },
  },
  {
    name: 'grpc',
    async healthy() {
      const t = await grpcTarget();
      cleanups.push(() => t.close());
      return new GrpcRunner({ target: t.addr });
    },
    async down() {
      return new GrpcRunner({ target: `127.0.0.1:${await closedPort()}` });
    },
    async hanging() {
      const t = await grpcTarget();
      t.hang = true;
      cleanups.push(() => t.close());
      return new GrpcRunner({ target: t.addr });
    },
  },
  {
    name: 'script',
    healthy: () => Promise.resolve(new ScriptRunner(scriptArgs(0), 4096)),
    down: () => Promise.resolve(new ScriptRunner(scriptArgs(2), 4096)),
    hanging: () => Promise.resolve(new ScriptRunner(hangingScriptArgs(), 4096)),
  },
];

// One test body, every runner.
describe.each(kinds)('$name runner contract', (k) => {
  it('is passing against a healthy target', async () => {
    const r = await run(await k.healthy());
    expect(r.status).toBe('passing');
  });

  it('is critical against a dead target, and says why', async () => {
    const r = await run(await k.down());
    expect(r.status).toBe('critical');
    expect(r.output.length).toBeGreaterThan(0);
  });
});

// Runners whose target can be made to hang (a TCP connect cannot be made to hang on loopback).
const hangable = kinds.filter((k): k is Kind & { hanging(): Promise<Runner> } => k.hanging !== undefined);
describe.each(hangable)('$name runner contract, hanging target', (k) => {
  it('is critical when the target does not answer within the timeout, and ends without waiting on the target', async () => {
    // The target never answers: only the runner's timeout can end the run. The generous bound
    // only turns a hang into a clear failure; it says nothing about speed.
    let bound: NodeJS.Timeout | undefined;
    const hung = new Promise<'still running'>((resolve) => {
      bound = setTimeout(() => resolve('still running'), 20_000);
    });
    const r = await Promise.race([run(await k.hanging(), 400), hung]).finally(() => clearTimeout(bound));
    expect(r).not.toBe('still running');
    const result = r as CheckResult;
    expect(result.status).toBe('critical');
    expect(result.output.toLowerCase()).toContain('timed out');
  });
});

describe('HttpRunner', () => {
  it('maps 2xx to passing, 429 to warning and 500 to critical, with Consul-style output', async () => {
    const t = await httpTarget(200, 'all good');
    cleanups.push(() => t.close());
    const runner = new HttpRunner({ url: t.url, outputMax: 4096 });
    const ok = await run(runner);
    expect(ok).toEqual({ status: 'passing', output: `HTTP GET ${t.url}: 200 OK Output: all good` });
    t.mode = 429;
    expect((await run(runner)).status).toBe('warning');
    t.mode = 500;
    const bad = await run(runner);
    expect(bad.status).toBe('critical');
    expect(bad.output).toContain('500 Internal Server Error');
  });

  it('sends Method, Header and Body, and caps the output', async () => {
    const t = await httpTarget(200, 'x'.repeat(10_000));
    cleanups.push(() => t.close());
    const runner = new HttpRunner({ url: t.url, method: 'post', header: { 'X-Probe': ['yes'] }, body: '{"a":1}', outputMax: 100 });
    const r = await run(runner);
    expect(r.status).toBe('passing');
    const req = t.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.headers['x-probe']).toBe('yes');
    expect(req.headers['user-agent']).toBe('Consul Health Check');
    expect(req.body).toBe('{"a":1}');
    expect(r.output).toContain('Captured 100 of');
    expect(r.output.length).toBeLessThan(300);
  });

  it('verifies TLS unless TLSSkipVerify; TLSServerName is the name verified', async () => {
    const t = await httpTarget(200, 'secure', { tls: true });
    cleanups.push(() => t.close());
    const strict = await run(new HttpRunner({ url: t.url, outputMax: 4096 }));
    expect(strict.status).toBe('critical');
    expect(strict.output).toMatch(/self[- ]signed certificate/i);
    expect(await run(new HttpRunner({ url: t.url, tlsSkipVerify: true, outputMax: 4096 }))).toEqual({
      status: 'passing',
      output: `HTTP GET ${t.url}: 200 OK Output: secure`,
    });
    // Skipping verification with a server name: the name is sent, nothing is verified.
    const named = new HttpRunner({ url: t.url, tlsSkipVerify: true, tlsServerName: 'localhost', outputMax: 4096 });
    cleanups.push(() => named.close());
    expect((await run(named)).status).toBe('passing');
    expect(t.requests).toHaveLength(2);
    // No SNI for a bare IP without TLSServerName (RFC 6066); TLSServerName is sent.
    expect(t.requests.map((q) => q.servername)).toEqual(['', 'localhost']);
  });

  it("TLSServerName is the SNI name whatever the URL's host or a Host header", async () => {
    const t = await httpTarget(200, 'secure', { tls: true });
    cleanups.push(() => t.close());
    const byName = t.url.replace('127.0.0.1', 'localhost');
    expect((await run(new HttpRunner({ url: byName, tlsSkipVerify: true, outputMax: 4096 }))).status).toBe('passing');
    const named = new HttpRunner({ url: byName, tlsSkipVerify: true, tlsServerName: 'svc.beacon.test', outputMax: 4096 });
    cleanups.push(() => named.close());
    expect((await run(named)).status).toBe('passing');
    const hosted = new HttpRunner({
      url: byName,
      header: { Host: ['vhost.beacon.test'] },
      tlsSkipVerify: true,
      tlsServerName: 'svc.beacon.test',
      outputMax: 4096,
    });
    cleanups.push(() => hosted.close());
    expect((await run(hosted)).status).toBe('passing');
    expect(t.requests.map((q) => q.servername)).toEqual(['localhost', 'svc.beacon.test', 'svc.beacon.test']);
    expect(t.requests[2].headers.host).toBe('vhost.beacon.test');
  });
});

describe('TcpRunner', () => {
  it('is critical with a timeout message when aborted before the connection opens', async () => {
    const t = await tcpTarget();
    cleanups.push(() => t.close());
    const ac = new AbortController();
    ac.abort();
    expect(await new TcpRunner(t.addr).run({ signal: ac.signal, timeoutMs: 5 })).toEqual({
      status: 'critical',
      output: `TCP connect ${t.addr}: timed out after 5 ms`,
    });
    expect(await run(new TcpRunner(t.addr))).toEqual({ status: 'passing', output: `TCP connect ${t.addr}: Success` });
  });
});

describe('GrpcRunner', () => {
  it('asks about the service after the slash; NOT_SERVING and unknown services are critical', async () => {
    const t = await grpcTarget();
    cleanups.push(() => t.close());
    t.statuses.set('payments', 1);
    t.statuses.set('billing', 2);
    expect(await run(new GrpcRunner({ target: `${t.addr}/payments` }))).toEqual({ status: 'passing', output: `gRPC check ${t.addr}/payments: success` });
    const notServing = await run(new GrpcRunner({ target: `${t.addr}/billing` }));
    expect(notServing.status).toBe('critical');
    expect(notServing.output).toContain('NOT_SERVING');
    const unknown = await run(new GrpcRunner({ target: `${t.addr}/nope` }));
    expect(unknown.status).toBe('critical');
    expect(unknown.output).toContain('NOT_FOUND');
  });

  it('speaks TLS with GRPCUseTLS, verifying the certificate unless TLSSkipVerify', async () => {
    const t = await grpcTarget({ tls: true });
    cleanups.push(() => t.close());
    expect(await run(new GrpcRunner({ target: t.addr, useTls: true, tlsSkipVerify: true }))).toEqual({
      status: 'passing',
      output: `gRPC check ${t.addr}: success`,
    });
    const strict = await run(new GrpcRunner({ target: t.addr, useTls: true }));
    expect(strict.status).toBe('critical');
    expect(strict.output).toContain('UNAVAILABLE');
    // Plain text against a TLS server gets no answer it can read.
    expect((await run(new GrpcRunner({ target: t.addr }), 1500)).status).toBe('critical');
  });

  it('sends TLSServerName as the SNI name over TLS, and nothing in plain text', async () => {
    const t = await grpcTarget();
    cleanups.push(() => t.close());
    const front = await tlsFront(t.addr);
    cleanups.push(() => front.close());
    expect(await run(new GrpcRunner({ target: front.addr, useTls: true, tlsSkipVerify: true, tlsServerName: 'grpc.beacon.test' }))).toEqual({
      status: 'passing',
      output: `gRPC check ${front.addr}: success`,
    });
    expect(front.servernames).toEqual(['grpc.beacon.test']);
    // Without GRPCUseTLS the name has no use: plain text straight to the server.
    expect((await run(new GrpcRunner({ target: t.addr, tlsServerName: 'grpc.beacon.test' }))).status).toBe('passing');
  });
});

describe('ScriptRunner', () => {
  it('maps exit 0/1/other to passing/warning/critical and captures output', async () => {
    expect(await run(new ScriptRunner(scriptArgs(0, 'fine'), 4096))).toEqual({ status: 'passing', output: 'fine' });
    expect(await run(new ScriptRunner(scriptArgs(1, 'meh'), 4096))).toEqual({ status: 'warning', output: 'meh' });
    expect(await run(new ScriptRunner(scriptArgs(2, 'bad'), 4096))).toEqual({ status: 'critical', output: 'bad' });
  });

  it('is critical when the command cannot start', async () => {
    const r = await run(new ScriptRunner(['/nonexistent/beacon-check'], 4096));
    expect(r.status).toBe('critical');
    expect(r.output).toContain('ENOENT');
  });

  it('kills a script that runs past its timeout, and what it started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beacon-script-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pidFile = join(dir, 'pid');
    const code = `const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); setInterval(() => {}, 1000);`;
    const r = await run(new ScriptRunner([process.execPath, '-e', code], 4096), 500);
    expect(r.output).toBe('Timed out (500ms) running check');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((res) => setTimeout(res, 100));
    // Gone, or a zombie waiting for whoever inherited it to reap it.
    let state = 'gone';
    try {
      state = readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1].charAt(0);
    } catch {
      /* no such process */
    }
    expect(['gone', 'Z']).toContain(state);
  });
});
