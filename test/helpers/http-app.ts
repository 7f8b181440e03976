/**
 * The HTTP app over a real embedded store, in process, for route tests with `app.inject`: a
 * catalog in a temp dir, this server's node registered in it, a {@link ServerNode} as "this
 * node" (writing through the local state, as the server does) with a fake TTL updater that records what the routes hand it, and the app the server
 * builds. reset() empties the catalog between tests; close() shuts everything and removes the
 * temp dir.
 *
 * @example
 * const h = await openHttpApp();
 * const r = await h.app.inject({ method: 'PUT', url: '/v1/agent/service/register', payload: { Name: 'web' } });
 * expect(r.statusCode).toBe(200);
 * await h.close();
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { createHttpApp, createMetrics, ResponseCache, type HttpContext, type Logger } from '../../src/api/http/index.js';
import type { Catalog, HealthStatus, NodeRecord } from '../../src/catalog/index.js';
import { buildConfig, type RawConfig, type RuntimeConfig } from '../../src/config/index.js';
import { BeaconError } from '../../src/errors/index.js';
import { ServerNode, type TtlUpdater } from '../../src/server/local-node.js';
import { LocalState } from '../../src/server/local-state.js';
import { NodeOwner } from '../../src/server/node-owner.js';
import { SharedLock } from '../../src/server/shared-lock.js';
import type { Store } from '../../src/store/index.js';
import { openTestCatalog } from './catalog.js';

export const TEST_NODE = 'beacon-test';
export const TEST_ADDR = '127.0.0.1';

/** One call the routes made to the TTL updater. */
export interface TtlCall {
  node: string;
  checkId: string;
  status: HealthStatus;
  output: string;
}

/** Stands in for the health subsystem's TTL heartbeats: records every call. */
export class FakeTtlUpdater implements TtlUpdater {
  readonly calls: TtlCall[] = [];
  /** When true, every update fails as the health manager fails one for an unknown or non-TTL check. */
  notTtl = false;

  updateTtl(node: string, checkId: string, status: HealthStatus, output: string): Promise<void> {
    if (this.notTtl)
      return Promise.reject(new BeaconError('BEACON_ERR_CHECK_NOT_TTL', `CheckID ${JSON.stringify(checkId)} does not have associated TTL`, { field: 'id' }));
    this.calls.push({ node, checkId, status, output });
    return Promise.resolve();
  }
}

/** A logger that says nothing and keeps what was logged as an error (an unexpected 500). */
export class QuietLogger implements Logger {
  readonly errors: object[] = [];
  info(): void {}
  warn(): void {}
  debug(): void {}
  error(obj: object): void {
    this.errors.push(obj);
  }
}

export interface HttpAppOptions {
  /** Raw config on top of the test defaults (node beacon-test, dc1, 127.0.0.1, DNS off). */
  config?: RawConfig;
}

export interface TestHttpApp {
  app: FastifyInstance;
  catalog: Catalog;
  store: Store;
  local: ServerNode;
  config: RuntimeConfig;
  ttl: FakeTtlUpdater;
  /** The same array as `ttl.calls`. */
  ttlCalls: TtlCall[];
  logger: QuietLogger;
  /** This server's node record as registered. */
  self: NodeRecord;
  /** The store's current revision: unchanged across a request means it wrote nothing. */
  storeRevision(): Promise<number>;
  /**
   * Back to a fresh start without building the app again (Fastify compiles the routes' schemas
   * once per app, which costs far more than a test): only this server's node, as registered,
   * with no services or checks; no TTL calls recorded; an empty response cache.
   */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function openHttpApp(opts: HttpAppOptions = {}): Promise<TestHttpApp> {
  const tc = await openTestCatalog('beacon-http-', opts.config?.datacenter ?? 'dc1');
  const { catalog, store } = tc;
  const config = buildConfig({
    node: TEST_NODE,
    httpAddr: `${TEST_ADDR}:0`,
    dnsAddr: 'off',
    dataDir: tc.dir,
    logLevel: 'silent',
    ...opts.config,
  });
  const self: NodeRecord = {
    ID: '5e1f0c52-9a57-4c1b-8d0e-3f3a2b1c0d11',
    Node: config.node,
    Address: config.advertiseAddr,
    Datacenter: config.datacenter,
    TaggedAddresses: { lan: config.advertiseAddr, lan_ipv4: config.advertiseAddr, wan: config.advertiseAddr, wan_ipv4: config.advertiseAddr },
    Meta: { 'consul-network-segment': '' },
  };
  await catalog.commands.registerNodeWith(self, [], []);

  const ttl = new FakeTtlUpdater();
  // As the server does: the local state is the source of truth for this node (kept in memory
  // only here: no state file, and no anti-entropy loop — a test sees exactly what a route wrote).
  const state = new LocalState(self);
  const owner = new NodeOwner(catalog, state, undefined, new SharedLock());
  const local = new ServerNode(catalog, ttl, config.checks, owner);
  const logger = new QuietLogger();
  const shutdown = new AbortController();
  const ctx: HttpContext = {
    config,
    store,
    catalog,
    logger,
    local,
    metrics: createMetrics({ catalog, store }),
    responseCache: new ResponseCache(),
    shutdownSignal: shutdown.signal,
    startedAt: Date.now(),
    version: '0.0.0-test',
  };
  const app = createHttpApp(ctx);
  await app.ready();

  let closing: Promise<void> | undefined;
  return {
    app,
    catalog,
    store,
    local,
    config,
    ttl,
    ttlCalls: ttl.calls,
    logger,
    self,
    storeRevision: () => store.currentRevision(),
    async reset() {
      for (const n of catalog.nodes().value) await catalog.commands.deregisterNode(n.record.Node);
      await catalog.commands.registerNodeWith(self, [], []);
      state.apply([
        ...[...state.services.keys()].map((id) => ({ op: 'service-' as const, id })),
        ...[...state.checks.keys()].map((id) => ({ op: 'check-' as const, id })),
      ]);
      ttl.calls.length = 0;
      ttl.notTtl = false;
      ctx.responseCache.clear();
      logger.errors.length = 0;
    },
    close() {
      closing ??= (async () => {
        shutdown.abort();
        await app.close();
        await tc.close();
      })();
      return closing;
    },
  };
}

/** What a refused request must answer. */
export interface Refusal {
  status: number;
  /** The X-Beacon-Error code. */
  code: string;
  /** A field name the text/plain message must contain. */
  field?: string;
  /** The message, when the exact wording matters (Consul clients match on it). */
  message?: RegExp;
}

/**
 * Sends a request that must be refused and checks the refusal: its status, a text/plain message
 * naming the field, the X-Beacon-Error code and an X-Consul-Index; and that nothing was written
 * (the store's revision and the catalog's view did not move). Returns the message.
 */
export async function expectRefused(h: TestHttpApp, req: InjectOptions, want: Refusal): Promise<string> {
  const before = await h.storeRevision();
  const viewBefore = h.catalog.revision;
  const res = await h.app.inject(req);
  expect(res.statusCode, res.body).toBe(want.status);
  expect(res.headers['x-beacon-error']).toBe(want.code);
  expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
  expect(res.headers['x-consul-index']).toMatch(/^[1-9]\d*$/);
  if (want.field !== undefined) expect(res.body).toContain(want.field);
  if (want.message !== undefined) expect(res.body).toMatch(want.message);
  expect(await h.storeRevision()).toBe(before);
  expect(h.catalog.revision).toBe(viewBefore);
  return res.body;
}

/** The X-Consul-Index of an answer, as a number (fails the test when missing). */
export function consulIndex(res: LightMyRequestResponse): number {
  const v = res.headers['x-consul-index'];
  expect(v, 'X-Consul-Index').toMatch(/^[1-9]\d*$/);
  return Number(v);
}

/** A JSON answer: 200, application/json, an index; returns the parsed body. */
export function okJson<T = unknown>(res: LightMyRequestResponse): T {
  expect(res.statusCode, res.body).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  consulIndex(res);
  return res.json<T>();
}
