/**
 * The parts of Consul's API Beacon does not implement (/v1/kv, /v1/session, ...) answer a 404 with
 * one line saying so, before any body is read, and the `consul` npm client shows that line.
 */
import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let consul: Consul;

beforeAll(async () => {
  server = await startServer({ dnsAddr: 'off' });
  consul = new Consul({ host: server.httpHost, port: server.httpPort });
});
afterAll(async () => {
  await server?.stop();
});

async function rejection(p: Promise<unknown>): Promise<Error & { statusCode?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { statusCode?: number };
  }
  throw new Error('expected a rejection');
}

describe("parts of Consul's API that Beacon does not have", () => {
  it('kv.set gets a 404 saying Beacon has no KV store, not a 400 about its body', async () => {
    const err = await rejection(consul.kv.set('config/db', 'host=10.0.0.7'));
    expect(err.statusCode).toBe(404);
    expect(err.message).toBe("Beacon does not implement Consul's KV store (/v1/kv)");
  });

  it('session.create gets a 404 with one line, not an empty 404', async () => {
    const err = await rejection(consul.session.create({ name: 'lock' }));
    expect(err.statusCode).toBe(404);
    expect(err.message).toBe("Beacon does not implement Consul's sessions (/v1/session)");
  });

  it.each([
    ['PUT', '/v1/kv/a?cas=0', 'not json at all'],
    ['GET', '/v1/kv/?recurse', undefined],
    ['PUT', '/v1/event/fire/deploy', '{"x":'],
    ['PUT', '/v1/txn', '[{"KV":{}}]'],
    ['GET', '/v1/connect/intentions', undefined],
    ['GET', '/v1/acl/roles', undefined],
    ['GET', '/v1/operator/raft/configuration', undefined],
    ['GET', '/v1/peerings', undefined],
    ['GET', '/v1/snapshot', undefined],
    ['GET', '/v1/coordinate/nodes', undefined],
    ['GET', '/v1/config/service-defaults', undefined],
    ['GET', '/v1/namespaces', undefined],
    ['GET', '/v1/partitions', undefined],
    ['GET', '/v1/discovery-chain/web', undefined],
    ['GET', '/v1/internal/ui/services', undefined],
    ['PUT', '/v1/session/create', '{}'],
  ])('%s %s answers 404 with the reason in Consul’s text form', async (method, path, body) => {
    const res = await fetch(`${server.httpUrl}${path}`, { method, body });
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(res.headers.get('x-beacon-error')).toBe('BEACON_ERR_NOT_FOUND');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toMatch(/^Beacon does not implement Consul's .+ \(\/v1\/[a-z-]+\)$/);
    // The consul npm client shows a text answer only when it is shorter than 80 characters.
    expect(text.length).toBeLessThan(80);
  });

  it('other unknown paths keep the empty 404 Consul answers, and the implemented routes are untouched', async () => {
    const unknown = await fetch(`${server.httpUrl}/v1/kvstore`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('');
    const services = await fetch(`${server.httpUrl}/v1/catalog/services`);
    expect(services.status).toBe(200);
    expect(await services.json()).toHaveProperty('consul');
  });
});
