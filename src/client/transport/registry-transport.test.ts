import { createServer, type Server } from 'node:http';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBeaconClientError } from '../client-error.js';
import { RegistryTransport } from './registry-transport.js';

let alive: Server;
let failing: Server;
let aliveUrl: string;
let deadUrl: string;
let slowFailUrl: string;
const agent = new Agent();

beforeAll(async () => {
  alive = createServer((req, res) => {
    if (req.url === '/v1/busy') res.statusCode = 503;
    res.end('ok');
  });
  // Takes the connection, then drops it 10 ms later: a failure that takes time.
  failing = createServer((req) => setTimeout(() => req.socket.destroy(), 10));
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  slowFailUrl = `http://127.0.0.1:${(failing.address() as { port: number }).port}`;
  await new Promise<void>((r) => alive.listen(0, '127.0.0.1', r));
  aliveUrl = `http://127.0.0.1:${(alive.address() as { port: number }).port}`;
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(dead.address() as { port: number }).port}`;
  await new Promise<void>((r) => dead.close(() => r()));
});
afterAll(async () => {
  await new Promise<void>((r) => alive.close(() => r()));
  failing.closeAllConnections();
  await new Promise<void>((r) => failing.close(() => r()));
  await agent.close();
});

describe('RegistryTransport failover', () => {
  it('tries every address once per request even while concurrent requests move the preferred one', async () => {
    const t = new RegistryTransport({ servers: [slowFailUrl, aliveUrl], dispatcher: agent, timeoutMs: 2000, log: () => {} });
    // Staggered starts: a request is still failing on the first address when an earlier one
    // succeeds on the second and makes it preferred.
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => new Promise((r) => setTimeout(r, i * 5)).then(() => t.request({ method: 'GET', path: '/v1/status/leader' }))),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toEqual([]);
    for (const r of results) if (r.status === 'fulfilled') expect(r.value.server).toBe(aliveUrl);
    expect(t.preferred).toBe(aliveUrl);
  });

  it('names each address once when all are down', async () => {
    const t = new RegistryTransport({ servers: [deadUrl, `${deadUrl.replace(/:\d+$/, ':1')}`], dispatcher: agent, timeoutMs: 2000, log: () => {} });
    await expect(t.request({ method: 'GET', path: '/v1/status/leader' })).rejects.toThrow(new RegExp(`${deadUrl}: .*; http://127\\.0\\.0\\.1:1: `));
  });
});

describe('RegistryTransport failoverStatuses', () => {
  it('by default a 503 moves on to the next server, and throws when every one answered so', async () => {
    const t = new RegistryTransport({ servers: [aliveUrl], dispatcher: agent, timeoutMs: 2000 });
    const err = await t.request({ method: 'GET', path: '/v1/busy' }).catch((e: unknown) => e);
    expect(isBeaconClientError(err, 'BEACON_ERR_REGISTRY_UNREACHABLE')).toBe(true);
    expect((err as Error).message).toBe(`No registry server answered (${aliveUrl}: HTTP 503)`);
  });

  it('an empty set returns every answer to the caller', async () => {
    const t = new RegistryTransport({ servers: [aliveUrl], dispatcher: agent, timeoutMs: 2000, failoverStatuses: new Set() });
    await expect(t.request({ method: 'GET', path: '/v1/busy' })).resolves.toMatchObject({ status: 503, text: 'ok', server: aliveUrl });
  });
});
