/**
 * `beacon sidecar` end to end: a real Beacon server, a real sidecar process, HTTP upstreams in
 * child processes (one is SIGKILLed) and a TCP echo server. Processes are shared by the file.
 */
import { get as httpGet } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { startBeaconProc, startUpstreamProc, waitFor, type RunningProc, type UpstreamProc } from '../helpers/gateway.js';

let beacon: RunningServer;
let sidecar: RunningProc;
let echo: Server;
const echoSockets = new Set<Socket>();
const pays: UpstreamProc[] = [];

function addr(name: string): { host: string; port: number } {
  const a = sidecar.ready[`upstream:${name}`];
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

/** One HTTP GET on a new connection through the sidecar's `pay` listener. */
function payGet(path: string): Promise<{ status: number; body: string }> {
  const { host, port } = addr('pay');
  return new Promise((resolve, reject) => {
    const req = httpGet({ host, port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** Sends `data` over one connection and reads until `expected` bytes came back. */
function echoRoundTrip(sock: Socket, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (c: Buffer) => {
      got += c.toString();
      if (got.length >= data.length) {
        sock.off('data', onData);
        resolve(got);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(data);
  });
}

function open(name: string): Promise<Socket> {
  const { host, port } = addr(name);
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

async function register(service: string, id: string, port: number, tags: string[] = []): Promise<void> {
  const r = await fetch(`${beacon.httpUrl}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ Name: service, ID: id, Address: '127.0.0.1', Port: port, Tags: tags }),
  });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  beacon = await startServer({ dnsAddr: 'off' });
  for (let i = 0; i < 2; i++) {
    const p = await startUpstreamProc(`pay-${i}`);
    pays.push(p);
    await register('pay', p.name, p.port);
  }
  echo = createServer((s) => {
    echoSockets.add(s);
    s.on('close', () => echoSockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  await register('echo', 'echo-1', (echo.address() as { port: number }).port, ['v2']);
  sidecar = await startBeaconProc('sidecar', [
    '--server',
    beacon.httpUrl,
    '--upstream',
    'pay=127.0.0.1:0',
    '--upstream',
    'v2.echo.service.consul=127.0.0.1:0',
    '--upstream',
    'nosuch=127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
    '--shutdown-grace',
    '20s',
    // Round robin keeps sending to the dead instance (p2c would avoid it after one failure),
    // so the failover test sees refused connections for sure.
    '--strategy',
    'round-robin',
  ]);
}, 60_000);

afterAll(async () => {
  await sidecar?.stop('SIGKILL');
  for (const p of pays) await p.kill();
  for (const s of echoSockets) s.destroy();
  if (echo) await new Promise((r) => echo.close(r));
  await beacon?.stop();
});

describe('beacon sidecar', () => {
  it('carries HTTP to every healthy instance, one connection at a time', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) {
      const r = await payGet(`/a/${i}`);
      expect(r.status).toBe(200);
      seen.add(r.body.split(' ')[0]);
    }
    expect(seen).toEqual(new Set(['pay-0', 'pay-1']));
  });

  it('carries a byte stream both ways (echo through a tag-qualified upstream name)', async () => {
    const s = await open('v2.echo.service.consul');
    try {
      expect(await echoRoundTrip(s, 'hello')).toBe('hello');
      const big = 'z'.repeat(1 << 20);
      expect(await echoRoundTrip(s, big)).toBe(big);
    } finally {
      s.destroy();
    }
  });

  it('closes the connection of an upstream service that does not exist', async () => {
    const s = await open('nosuch');
    const outcome = await new Promise<string>((resolve) => {
      let data = '';
      s.on('data', (c: Buffer) => (data += c.toString()));
      s.on('error', () => {});
      s.once('close', () => resolve(`closed with ${JSON.stringify(data)}`));
    });
    expect(outcome).toBe('closed with ""');
  });

  it('fails over when an instance dies: a refused connection is retried on another instance', async () => {
    await pays[0].kill();
    // pay-0 stays registered (no health check): every connection to it is refused.
    const statuses: number[] = [];
    const hits = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await payGet(`/b/${i}`);
      statuses.push(r.status);
      hits.add(r.body.split(' ')[0]);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(hits).toEqual(new Set(['pay-1']));
    // A burst: half of the connections meet the dead instance first; every one is carried.
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => payGet(`/burst/${i}`)));
    expect(burst.filter((r) => r.status !== 200)).toEqual([]);
    const metrics = await (await fetch(`http://${sidecar.ready.admin}/metrics`)).text();
    expect(metrics).toMatch(/^beacon_gateway_upstream_errors_total\{service="pay",kind="connect_refused"\} [1-9]/m);
    expect(metrics).toMatch(/^beacon_gateway_retries_total\{service="pay"\} [1-9]/m);
    expect(metrics).toMatch(/^beacon_gateway_sidecar_connections_total\{upstream="pay",instance="pay-1"\} [1-9]/m);
  });

  it('keeps forwarding on the last known instances while Beacon is down', async () => {
    await beacon.kill();
    // Several connections in a row: the discovery loop fails in the background meanwhile.
    for (let i = 0; i < 10; i++) expect(await payGet(`/c/${i}`)).toMatchObject({ status: 200, body: `pay-1 GET /c/${i} 0` });
    await waitFor('the set to be reported stale', async () => {
      const ups = (await (await fetch(`http://${sidecar.ready.admin}/upstreams`)).json()) as Array<{ service: string; stale: boolean | null }>;
      return ups.find((u) => u.service === 'pay')?.stale === true;
    });
    expect((await payGet('/d')).status).toBe(200);
  });

  it('on SIGTERM stops accepting, lets an open connection finish, then exits 0', async () => {
    const s = await open('v2.echo.service.consul');
    expect(await echoRoundTrip(s, 'before')).toBe('before');
    sidecar.proc.kill('SIGTERM');
    const { host, port } = addr('pay');
    await waitFor('the listeners to close', async () => {
      const refused = await new Promise<boolean>((resolve) => {
        const c = connect({ host, port });
        c.once('connect', () => {
          c.destroy();
          resolve(false);
        });
        c.once('error', () => resolve(true));
      });
      return refused;
    });
    expect(await echoRoundTrip(s, 'after')).toBe('after');
    expect(sidecar.proc.exitCode).toBeNull();
    s.end();
    expect(await sidecar.exited).toBe(0);
  });
});
