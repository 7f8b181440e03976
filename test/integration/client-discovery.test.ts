/**
 * The SDK's discovery against real `beacon server` processes: changes pushed to watchers, serving the frozen
 * set while the server is down and recovering after a restart on the same data, failover
 * between two server addresses, and DNS mode through Beacon's DNS interface.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BeaconClient, type ServiceChange } from '../../src/client/index.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const servers: RunningServer[] = [];
const clients: BeaconClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close({ deregister: false });
});
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function server(opts: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  // Fails (does not skip) with the server's output if it cannot start.
  const s = await startServer({ dnsAddr: 'off', ...opts });
  servers.push(s);
  return s;
}

function client(urls: string[], extra: ConstructorParameters<typeof BeaconClient>[0] = {}): BeaconClient {
  const c = new BeaconClient({ servers: urls, deregisterOnSignals: false, requestTimeoutMs: 1_000, retry: { baseMs: 50, maxMs: 300 }, ...extra });
  clients.push(c);
  return c;
}

async function put(base: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${base}${path}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`PUT ${path} -> ${r.status}: ${await r.text()}`);
}

const register = (base: string, name: string, id: string, port: number, extra: Record<string, unknown> = {}) =>
  put(base, '/v1/agent/service/register', { Name: name, ID: id, Address: '127.0.0.1', Port: port, ...extra });

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('discovery against a real server', () => {
  it('discovers by tag and reports weights and status', async () => {
    const s = await server();
    await register(s.httpUrl, 'pay', 'pay-1', 9001, { Tags: ['v2'], Weights: { Passing: 5, Warning: 1 } });
    await register(s.httpUrl, 'pay', 'pay-2', 9002, { Tags: ['v1'] });
    const c = client([s.httpUrl]);
    expect((await c.discover('pay')).instances.map((i) => i.id)).toEqual(['pay-1', 'pay-2']);
    const v2 = await c.discover('pay', { tag: 'v2' });
    expect(v2.instances.map((i) => [i.id, i.weight, i.status, i.datacenter])).toEqual([['pay-1', 5, 'passing', 'dc1']]);
  });

  it('a watcher receives each change from the blocking query it wakes', async () => {
    const s = await server();
    await register(s.httpUrl, 'watched', 'w-1', 9101);
    // Blocking queries wait 60 s (the default): a change seen well inside that came from the
    // query it woke, not from the wait running out. The bounds below are that margin, not speed.
    const c = client([s.httpUrl], { waitMs: 60_000 });
    const events: ServiceChange[] = [];
    c.watch('watched', (change) => events.push(change));
    await until(() => events.length === 1, 10_000, 'initial event');
    expect(events[0].added.map((i) => i.id)).toEqual(['w-1']);
    // Let the blocking query arm.
    await new Promise((r) => setTimeout(r, 200));
    for (const [i, action] of [
      ['w-2', 'add'],
      ['w-1', 'remove'],
    ] as const) {
      const before = events.length;
      if (action === 'add') await register(s.httpUrl, 'watched', i, 9102);
      else await put(s.httpUrl, `/v1/agent/service/deregister/${i}`);
      await until(() => events.length > before, 20_000, `${action} event`);
      const ev = events[before];
      if (action === 'add') expect(ev.added.map((x) => x.id)).toEqual(['w-2']);
      else expect(ev.removed.map((x) => x.id)).toEqual(['w-1']);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('keeps discovering the frozen set while the server is down, and recovers after a restart on the same data', async () => {
    const s1 = await server();
    await register(s1.httpUrl, 'frozen', 'f-1', 9201);
    await register(s1.httpUrl, 'frozen', 'f-2', 9202);
    const c = client([s1.httpUrl]);
    expect((await c.discover('frozen')).instances).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 100));

    const down = performance.now();
    await s1.kill();
    await until(() => c.cached('frozen')?.stale === true, 10_000, 'stale mark');
    await new Promise((r) => setTimeout(r, 500));
    const frozen = await c.discover('frozen');
    expect(frozen.stale).toBe(true);
    expect(frozen.instances.map((i) => i.id)).toEqual(['f-1', 'f-2']);
    // Its age counts from the last answer, before the server died: failures do not renew it.
    const sinceDown = performance.now() - down;
    expect(frozen.ageMs).toBeGreaterThanOrEqual(sinceDown);
    expect(frozen.error).toBeDefined();
    expect(['f-1', 'f-2']).toContain((await c.pick('frozen')).id);

    const s2 = await server({ dataDir: s1.dataDir, httpAddr: `${s1.httpHost}:${s1.httpPort}` });
    await until(() => c.cached('frozen')?.stale === false, 10_000, 'recovery after restart');
    expect((await c.discover('frozen')).instances.map((i) => i.id)).toEqual(['f-1', 'f-2']);
    // And it follows changes again.
    await register(s2.httpUrl, 'frozen', 'f-3', 9203);
    await until(() => (c.cached('frozen')?.instances.length ?? 0) === 3, 5_000, 'change after recovery');
  });

  it('fails over between two server addresses', async () => {
    const a = await server();
    const b = await server();
    await register(a.httpUrl, 'fo', 'fo-a', 9301);
    await register(b.httpUrl, 'fo', 'fo-b1', 9302);
    await register(b.httpUrl, 'fo', 'fo-b2', 9303);
    const c = client([a.httpUrl, b.httpUrl]);
    expect((await c.discover('fo')).instances.map((i) => i.id)).toEqual(['fo-a']);
    await new Promise((r) => setTimeout(r, 100));
    await a.kill();
    await until(() => c.cached('fo')?.instances.length === 2, 5_000, 'answer from the second server');
    const snap = await c.discover('fo');
    expect(snap.stale).toBe(false);
    expect(snap.instances.map((i) => i.id)).toEqual(['fo-b1', 'fo-b2']);
    // Registration fails over too.
    const reg = await c.register({ name: 'fo-reg', id: 'fo-reg-1', address: '127.0.0.1', port: 9304 });
    const r = await fetch(`${b.httpUrl}/v1/catalog/service/fo-reg`);
    expect(((await r.json()) as Array<{ ServiceID: string }>).map((e) => e.ServiceID)).toEqual(['fo-reg-1']);
    await reg.deregister();
  });

  it("DNS mode discovers through Beacon's SRV records", async () => {
    const s = await server({ dnsAddr: '127.0.0.1:0' });
    await register(s.httpUrl, 'dnsweb', 'd-1', 9401, { Weights: { Passing: 3, Warning: 1 } });
    await register(s.httpUrl, 'dnsweb', 'd-2', 9402);
    const c = client([s.httpUrl], { dns: { servers: [`${s.dnsHost}:${s.dnsPort}`], refreshMs: 200 } });
    expect(c.mode).toBe('dns');
    const snap = await c.discover('dnsweb');
    expect(snap.instances.map((i) => [i.address, i.port, i.weight])).toEqual([
      ['127.0.0.1', 9401, 3],
      ['127.0.0.1', 9402, 1],
    ]);
    await put(s.httpUrl, '/v1/agent/service/deregister/d-1');
    await until(() => c.cached('dnsweb')?.instances.length === 1, 3_000, 'DNS refresh');
    expect((await c.discover('ghost-service')).instances).toEqual([]);
  });
});
