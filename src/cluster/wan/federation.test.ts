import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../config/index.js';
import { isBeaconError } from '../../errors/index.js';
import { parseExchange, WAN_EXCHANGE_ROUTE } from './exchange.js';
import { Federation } from './federation.js';

interface Node {
  fed: Federation;
  server: Server;
  http: string;
}
const nodes: Node[] = [];

/** A Federation behind a real HTTP server that takes only the exchange route. */
async function node(dc: string, join: string[] = [], port = 0): Promise<Node> {
  let fed!: Federation;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const msg = req.url === WAN_EXCHANGE_ROUTE ? parseExchange(JSON.parse(body || 'null')) : undefined;
      if (!msg) {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fed.receive(msg)));
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const http = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  fed = new Federation({
    datacenter: dc,
    node: `s-${dc}`,
    localServers: () => [{ Node: `s-${dc}`, Datacenter: dc, Addr: '127.0.0.1', Http: http, Dns: '', Version: '1' }],
    join,
    intervalMs: 100,
    logger: silentLogger,
  });
  const n = { fed, server, http };
  nodes.push(n);
  return n;
}

const close = (s: Server) =>
  new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });

afterEach(async () => {
  for (const n of nodes.splice(0)) {
    await n.fed.stop();
    if (n.server.listening) await close(n.server);
  }
});

describe('Federation', () => {
  it('learns every datacenter from one address each, and every server learns the joiners', async () => {
    const a = await node('dc1');
    const b = await node('dc2', [`${a.http}`]);
    const c = await node('dc3', [`${b.http}`]);
    await b.fed.exchangeNow(); // b joins through a; a hears of b
    await c.fed.exchangeNow(); // c joins through b; learns dc1 second hand
    await a.fed.exchangeNow(); // a asks b: learns dc3
    await c.fed.exchangeNow(); // c asks dc1 directly
    for (const n of [a, b, c]) expect([...n.fed.datacenters()].sort()).toEqual(['dc1', 'dc2', 'dc3']);
    expect(a.fed.datacenters()[0]).toBe('dc1');
    expect(a.fed.table.rtt('dc2')).toBeGreaterThanOrEqual(0);
  });

  it('marks a datacenter unreachable when its servers stop answering, and takes it back by itself', async () => {
    const a = await node('dc1');
    const b = await node('dc2', [a.http]);
    await b.fed.exchangeNow();
    await a.fed.exchangeNow();
    expect(a.fed.table.reachable('dc2')).toBe(true);
    const port = Number(b.http.split(':')[1]);
    await close(b.server);
    await a.fed.exchangeNow();
    expect(a.fed.table.reachable('dc2')).toBe(false);
    expect(a.fed.datacenters()).toEqual(['dc1', 'dc2']);
    const refused = await a.fed.forwarder.forward('dc2', { method: 'GET', url: '/x', headers: {}, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isBeaconError(refused, 'BEACON_ERR_DC_UNREACHABLE')).toBe(true);
    // The same address answers again: the next round finds it.
    await new Promise<void>((r) => b.server.listen(port, '127.0.0.1', r));
    await a.fed.exchangeNow();
    expect(a.fed.table.reachable('dc2')).toBe(true);
  });

  it('keeps trying a join address that does not answer yet', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await close(probe);
    const b = await node('dc2', [`127.0.0.1:${port}`]);
    await b.fed.exchangeNow();
    expect(b.fed.datacenters()).toEqual(['dc2']);
    await node('dc1', [], port);
    await b.fed.exchangeNow();
    expect(b.fed.datacenters()).toEqual(['dc2', 'dc1']);
  });
});
