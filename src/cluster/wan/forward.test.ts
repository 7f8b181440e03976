import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBeaconError } from '../../errors/index.js';
import { FORWARDED_HEADER, WanForwarder, type ForwardResult } from './forward.js';
import { WanMemberTable, type WanServer } from './member-table.js';

let answering: Server;
let silent: Server;
let answeringAddr = '';
let silentAddr = '';
let refusedAddr = '';
const seen: { method: string; url: string; forwardedBy: string; body: string }[] = [];

const listen = (s: Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)));

beforeAll(async () => {
  answering = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, forwardedBy: String(req.headers[FORWARDED_HEADER]), body });
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '42', 'x-consul-knownleader': 'true' });
      res.end('["ok"]');
    });
  });
  // Accepts connections and never answers: a stopped server.
  silent = createServer(() => undefined);
  answeringAddr = await listen(answering);
  silentAddr = await listen(silent);
  const closed = createServer();
  refusedAddr = await listen(closed);
  await new Promise((r) => closed.close(r));
});
afterAll(async () => {
  silent.closeAllConnections();
  await Promise.all([new Promise((r) => answering.close(r)), new Promise((r) => silent.close(r))]);
});

const srv = (node: string, http: string): WanServer => ({ Node: node, Datacenter: 'dc2', Addr: '127.0.0.1', Http: http, Dns: '', Version: '1' });

function setup(servers: WanServer[], rtts: Record<string, number> = {}) {
  const table = new WanMemberTable('dc1', () => []);
  table.learn('dc2', servers, true);
  for (const [node, ms] of Object.entries(rtts)) table.succeeded('dc2', node, ms);
  const results: ForwardResult[] = [];
  const fwd = new WanForwarder({ table, from: 'dc1', backoffMs: 5, onResult: (_dc, r) => results.push(r) });
  return { table, fwd, results };
}

describe('WanForwarder', () => {
  it("fails over from a server that refuses to the next, marks it failed, and returns the remote's answer and headers", async () => {
    const { table, fwd, results } = setup([srv('down', refusedAddr), srv('up', answeringAddr)], { down: 1, up: 2 });
    try {
      const res = await fwd.forward('dc2', { method: 'GET', url: '/v1/health/service/web?dc=dc2', headers: {}, timeoutMs: 5000 });
      expect([res.statusCode, res.body.toString(), res.headers['x-consul-index'], res.server.Node]).toEqual([200, '["ok"]', '42', 'up']);
      expect(table.isFailed('dc2', 'down')).toBe(true);
      expect(results).toEqual(['failover']);
      expect(seen.at(-1)).toMatchObject({ url: '/v1/health/service/web?dc=dc2', forwardedBy: 'dc1' });
    } finally {
      await fwd.close();
    }
  });

  it('moves a write on only when the first server refused the connection (it never got it)', async () => {
    const { fwd } = setup([srv('down', refusedAddr), srv('up', answeringAddr)], { down: 1, up: 2 });
    try {
      const res = await fwd.forward('dc2', {
        method: 'PUT',
        url: '/v1/catalog/register?dc=dc2',
        headers: {},
        body: Buffer.from('{"Node":"x"}'),
        timeoutMs: 5000,
      });
      expect(res.statusCode).toBe(200);
      expect(seen.at(-1)).toMatchObject({ method: 'PUT', body: '{"Node":"x"}' });
    } finally {
      await fwd.close();
    }
  });

  it('gives up at the deadline with a retryable DC_UNREACHABLE; a blocking query that ran out does not mark the server failed', async () => {
    const { table, fwd, results } = setup([srv('stopped', silentAddr)]);
    try {
      const err = await fwd.forward('dc2', { method: 'GET', url: '/x', headers: {}, timeoutMs: 200, blocking: true }).catch((e: unknown) => e);
      expect(isBeaconError(err, 'BEACON_ERR_DC_UNREACHABLE')).toBe(true);
      expect((err as Error).message).toMatch(/did not answer within 200 ms/);
      expect(table.isFailed('dc2', 'stopped')).toBe(false);
      const plain = await fwd.forward('dc2', { method: 'GET', url: '/x', headers: {}, timeoutMs: 200 }).catch((e: unknown) => e);
      expect(isBeaconError(plain, 'BEACON_ERR_DC_UNREACHABLE')).toBe(true);
      expect(table.isFailed('dc2', 'stopped')).toBe(true);
      expect(results).toEqual(['timeout', 'timeout']);
    } finally {
      await fwd.close();
    }
  });

  it('refuses an unreachable datacenter at once, without a request, and an unknown one as No path', async () => {
    const { table, fwd, results } = setup([srv('up', answeringAddr)]);
    try {
      table.failed('dc2', 'up');
      const before = seen.length;
      const err = await fwd.forward('dc2', { method: 'GET', url: '/x', headers: {}, timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(isBeaconError(err, 'BEACON_ERR_DC_UNREACHABLE')).toBe(true);
      expect((err as Error).message).toMatch(/^Remote DC has no server currently reachable: datacenter "dc2" is marked unreachable/);
      expect(seen.length).toBe(before);
      expect(results).toEqual(['unreachable']);
      const unknown = await fwd.forward('dc9', { method: 'GET', url: '/x', headers: {}, timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(isBeaconError(unknown, 'BEACON_ERR_NO_PATH_TO_DC')).toBe(true);
    } finally {
      await fwd.close();
    }
  });

  it('never queues a plain request behind blocking queries that hold their connections', async () => {
    const held: (() => void)[] = [];
    const holding = createServer((req, res) => {
      const answer = () => res.end('[]');
      if (req.url?.includes('index=')) held.push(answer);
      else answer();
    });
    const addr = await listen(holding);
    const { fwd } = setup([srv('h', addr)]);
    try {
      let blockingDone = 0;
      const blocking = Array.from({ length: 80 }, () =>
        fwd
          .forward('dc2', { method: 'GET', url: '/v1/health/service/web?index=5', headers: {}, timeoutMs: 60_000, blocking: true })
          .finally(() => blockingDone++),
      );
      for (let i = 0; i < 200 && held.length < 80; i++) await new Promise((r) => setTimeout(r, 25));
      expect(held).toHaveLength(80);
      const plain = await fwd.forward('dc2', { method: 'GET', url: '/v1/health/service/web', headers: {}, timeoutMs: 60_000 });
      expect([plain.statusCode, blockingDone]).toEqual([200, 0]);
      for (const release of held) release();
      await Promise.all(blocking);
    } finally {
      await fwd.close();
      holding.closeAllConnections();
      await new Promise((r) => holding.close(r));
    }
  });

  it('ends a forward whose client went away', async () => {
    const { fwd } = setup([srv('stopped', silentAddr)]);
    try {
      const gone = new AbortController();
      const p = fwd.forward('dc2', { method: 'GET', url: '/x', headers: {}, timeoutMs: 60_000, blocking: true, signal: gone.signal }).catch((e: unknown) => e);
      setTimeout(() => gone.abort(), 50);
      const err = await p;
      expect((err as Error).message).toMatch(/client went away/);
    } finally {
      await fwd.close();
    }
  });
});
