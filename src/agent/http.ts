import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import type { Registry } from 'prom-client';
import { aggregateStatus, type HealthStatus, type Indexed, type ServiceRecord } from '../catalog/index.js';
import { agentServiceJson, checkJson, isWatchablePath } from '../api/http/index.js';
import { parseBool, parseDuration } from '../config/index.js';
import { BeaconError, invalid, isBeaconError } from '../errors/index.js';
import type { AgentOwner } from './owner.js';
import type { Upstream } from './upstream.js';
import { cacheKey, type CacheEntry, type WatchCache } from './watch-cache.js';

export interface AgentHttpDeps {
  owner: AgentOwner;
  cache: WatchCache;
  upstream: Upstream;
  datacenter: string;
  advertiseAddr: string;
  version: string;
  startedAt: number;
  registry: Registry;
  maxBodyBytes: number;
  /** Re-reads the config dir (PUT /v1/agent/reload). */
  reload(): Promise<void>;
  signal: AbortSignal;
  /** TLS towards https:// servers, for the requests the agent passes on (CA, client certificate and key). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** How long a read not yet cached waits for its first answer from the servers. */
const FIRST_ANSWER_MS = 10_000;
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

function sendError(res: ServerResponse, err: unknown): void {
  const be = isBeaconError(err) ? err : new BeaconError('BEACON_ERR_INTERNAL', (err as Error).message ?? String(err));
  if (res.headersSent) return void res.destroy();
  const text = be.message;
  res.writeHead(be.status, { 'content-type': 'text/plain; charset=utf-8', 'x-beacon-error': be.code, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJson(res: ServerResponse, code: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new BeaconError('BEACON_ERR_BODY_TOO_LARGE', `Request body larger than ${max} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BeaconError('BEACON_ERR_BAD_JSON', `Request decode failed: ${(err as Error).message}`);
  }
}

const STATUSES: readonly string[] = ['passing', 'warning', 'critical'];

/**
 * The agent's HTTP API: Consul's `/v1/agent/*` acting on this agent's node, catalog, health and
 * status reads answered from the watch cache (`X-Cache: HIT|MISS`, `Age`), and everything else
 * (writes to the catalog, `?consistent` reads, Beacon's own routes) passed to a server.
 */
export function createAgentHttp(d: AgentHttpDeps): Server {
  const { owner, cache, upstream } = d;
  const leaderHeaders = (e?: { knownLeader: boolean; lastContact: number }): Record<string, string> => {
    if (upstream.connected) return { 'x-consul-knownleader': String(e?.knownLeader ?? true), 'x-consul-lastcontact': String(e?.lastContact ?? 0) };
    const since = upstream.lastContact ? Date.now() - upstream.lastContact : 0;
    return { 'x-consul-knownleader': 'false', 'x-consul-lastcontact': String(since) };
  };

  // The hot path: a plain read of a URL seen before, while connected, goes out with no URL
  // parsing; the headers of an answer are built once (the entry's body object changes with it),
  // and shared by plain reads and by every blocking query it wakes.
  const byUrl = new Map<string, CacheEntry>();
  const prepared = new WeakMap<CacheEntry, { body: Buffer; lastContact: number; headers: Record<string, string | number> }>();
  const MAX_URLS = 10_000;
  cache.onChange((e) => {
    if (e.body === undefined) for (const [u, x] of byUrl) if (x === e) byUrl.delete(u);
  });
  function preparedOf(e: CacheEntry): { body: Buffer; lastContact: number; headers: Record<string, string | number> } {
    let p = prepared.get(e);
    if (p === undefined || p.body !== e.body || p.lastContact !== e.lastContact) {
      p = {
        body: e.body!,
        lastContact: e.lastContact,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': e.body!.length,
          'x-consul-index': String(Math.max(1, e.index)),
          'x-cache': 'HIT',
          age: '0',
          'x-consul-knownleader': String(e.knownLeader),
          'x-consul-lastcontact': String(e.lastContact),
        },
      };
      prepared.set(e, p);
    }
    return p;
  }
  function fastHit(req: IncomingMessage, res: ServerResponse): boolean {
    const u = req.url;
    if (req.method !== 'GET' || u === undefined || !upstream.connected) return false;
    const e = byUrl.get(u);
    if (e === undefined || e.body === undefined || e.status !== 200) return false;
    const p = preparedOf(e);
    e.lastUsed = Date.now();
    cache.hits++;
    res.writeHead(200, p.headers);
    res.end(p.body);
    return true;
  }
  const remember = (u: string | undefined, e: CacheEntry) => {
    if (u === undefined || byUrl.has(u)) return;
    if (byUrl.size >= MAX_URLS) byUrl.clear();
    byUrl.set(u, e);
  };

  async function cached(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const q = url.searchParams;
    const key = cacheKey(url.pathname, q);
    const e = cache.entry(key);
    if (!e) return proxy(req, res, url);
    // Read what the query asks for now: nothing of the URL is kept while the request waits.
    const pretty = q.has('pretty');
    const rawIndex = q.get('index');
    const rawWait = q.get('wait');
    let index = 0;
    if (rawIndex !== null && rawIndex !== '') {
      if (!/^\d+$/.test(rawIndex)) throw invalid('index', `Invalid index: "${rawIndex}" is not an unsigned integer`);
      index = Number(rawIndex);
    }
    let wait = DEFAULT_WAIT_MS;
    if (rawWait) {
      const ms = parseDuration(rawWait);
      if (ms === undefined) throw invalid('wait', `Invalid wait time: "${rawWait}" (use a duration such as 30s, 5m or 120000ms)`);
      wait = ms <= 0 ? DEFAULT_WAIT_MS : Math.min(ms, MAX_WAIT_MS);
    }
    if (index === 0 && !pretty) remember(req.url, e);
    let hit = e.body !== undefined;
    if (!hit) {
      await cache.waitFor(e, -1, FIRST_ANSWER_MS, d.signal);
      if (e.body === undefined) throw new BeaconError('BEACON_ERR_NO_SERVER', 'No server is reachable and this read is not cached yet');
    }
    if (index > 0 && index === e.index) {
      const parked = cache.park(e, index, wait + Math.random() * (wait / 16));
      let gone = false;
      const onClose = () => {
        gone = true;
        parked.cancel();
      };
      res.once('close', onClose);
      await parked.done;
      res.off('close', onClose);
      if (gone) return;
      hit = true;
    }
    if (hit) cache.hits++;
    else cache.misses++;
    const ok = e.status === 200;
    if (ok && hit && !pretty && upstream.connected) {
      const p = preparedOf(e);
      res.writeHead(200, p.headers);
      res.end(p.body);
      return;
    }
    const age = upstream.connected ? 0 : Math.max(0, Math.floor((Date.now() - e.freshAt) / 1000));
    let body = e.body!;
    if (pretty && ok) body = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 4));
    const text = ok ? body : Buffer.from(String(JSON.parse(body.toString())));
    res.writeHead(e.status, {
      'content-type': ok ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
      'content-length': text.length,
      'x-consul-index': String(Math.max(1, e.index)),
      'x-cache': hit ? 'HIT' : 'MISS',
      age: String(age),
      ...leaderHeaders(e),
    });
    res.end(text);
  }

  // The requests passed on to the servers (writes, ?consistent, other routes) go over TLS as the stream does.
  const passOn = d.tls ? new UndiciAgent({ connect: { ...d.tls } }) : undefined;
  d.signal.addEventListener('abort', () => void passOn?.close(), { once: true });

  async function proxy(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const server = upstream.server;
    if (!server) throw new BeaconError('BEACON_ERR_NO_SERVER', `No server is reachable for ${req.method} ${url.pathname}`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && k !== 'host' && k !== 'connection') headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    let up;
    try {
      up = await undiciRequest(server + url.pathname + url.search, {
        method: req.method as 'GET',
        headers,
        ...(passOn ? { dispatcher: passOn } : {}),
        body: hasBody ? Readable.from(req) : undefined,
        signal: gone.signal,
        headersTimeout: MAX_WAIT_MS + 60_000,
        bodyTimeout: MAX_WAIT_MS + 60_000,
      });
    } catch (err) {
      if (gone.signal.aborted) return;
      throw new BeaconError('BEACON_ERR_NO_SERVER', `The server did not answer: ${(err as Error).message}`, { cause: err });
    }
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
    res.writeHead(up.statusCode, out);
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  }

  const instanceJson = (s: Indexed<ServiceRecord>) => {
    const checks = owner.state.checksOf(s.record.ID).concat(owner.state.checksOf(''));
    return {
      status: aggregateStatus(checks),
      json: { AggregatedStatus: aggregateStatus(checks), Service: agentServiceJson(s, d.datacenter), Checks: checks.map(checkJson) },
    };
  };
  const services = () => [...owner.state.services.values()].map((s) => ({ record: s.service, createIndex: 1, modifyIndex: owner.state.index }));
  const idOf = (path: string, prefix: string, what: string): string => {
    const id = decodeURIComponent(path.slice(prefix.length));
    if (!id) throw invalid('id', `Missing ${what} in the path`);
    return id;
  };
  const codeOf = (s: string): number => (s === 'passing' ? 200 : s === 'warning' ? 429 : 503);

  async function agentRoute(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const p = url.pathname.replace(/\/+$/, '');
    const m = req.method;
    const q = url.searchParams;
    const okEmpty = () => {
      res.writeHead(200, { 'content-length': 0, ...leaderHeaders() });
      res.end();
    };
    const indexHeader = { 'x-consul-index': String(owner.state.index), ...leaderHeaders() };
    if (m === 'GET' && p === '/v1/agent/services') {
      const out: Record<string, unknown> = {};
      for (const s of services()) out[s.record.ID] = agentServiceJson(s, d.datacenter);
      sendJson(res, 200, out, indexHeader);
    } else if (m === 'GET' && p.startsWith('/v1/agent/service/') && !p.startsWith('/v1/agent/service/maintenance')) {
      const id = idOf(p, '/v1/agent/service/', 'service ID');
      const s = services().find((x) => x.record.ID === id);
      if (!s) throw new BeaconError('BEACON_ERR_NOT_FOUND', `unknown service ID: ${id}`, { field: 'id' });
      sendJson(res, 200, agentServiceJson(s, d.datacenter), indexHeader);
    } else if (m === 'GET' && p === '/v1/agent/checks') {
      const out: Record<string, unknown> = {};
      for (const c of owner.state.checks.values()) out[c.record.CheckID] = checkJson(c);
      sendJson(res, 200, out, indexHeader);
    } else if (m === 'GET' && p.startsWith('/v1/agent/health/service/id/')) {
      const id = idOf(p, '/v1/agent/health/service/id/', 'service ID');
      const s = services().find((x) => x.record.ID === id);
      if (!s) sendJson(res, 404, { AggregatedStatus: 'critical', Checks: null, Service: null });
      else {
        const h = instanceJson(s);
        sendJson(res, codeOf(h.status), h.json);
      }
    } else if (m === 'GET' && p.startsWith('/v1/agent/health/service/name/')) {
      const name = idOf(p, '/v1/agent/health/service/name/', 'service name');
      const list = services()
        .filter((x) => x.record.Service === name)
        .map(instanceJson);
      const code = list.length === 0 ? 404 : Math.max(...list.map((h) => codeOf(h.status)));
      sendJson(
        res,
        code,
        list.map((h) => h.json),
      );
    } else if (m === 'GET' && p === '/v1/agent/self') {
      sendJson(res, 200, {
        Config: { Datacenter: d.datacenter, NodeName: owner.name, NodeID: owner.state.node.ID, Server: false, Version: d.version, Revision: 'beacon' },
        Member: { Name: owner.name, Addr: d.advertiseAddr, Port: 8301, Tags: { role: 'node', dc: d.datacenter }, Status: 1 },
        Stats: {
          agent: {
            server: upstream.server ?? '',
            connected: String(upstream.connected),
            cache_entries: String(cache.size),
            services: String(owner.state.services.size),
            checks: String(owner.state.checks.size),
            uptime_seconds: String(Math.round((Date.now() - d.startedAt) / 1000)),
          },
        },
        Meta: owner.state.node.Meta,
      });
    } else if (m === 'PUT' && p === '/v1/agent/service/register') {
      const replace = q.has('replace-existing-checks') && parseBool(q.get('replace-existing-checks') || 'true') === true;
      await owner.registerService(await readBody(req, d.maxBodyBytes), { replaceExistingChecks: replace });
      okEmpty();
    } else if (m === 'PUT' && p.startsWith('/v1/agent/service/deregister')) {
      await owner.deregisterService(idOf(p, '/v1/agent/service/deregister/', 'service ID'));
      okEmpty();
    } else if (m === 'PUT' && p === '/v1/agent/check/register') {
      await owner.registerCheck(await readBody(req, d.maxBodyBytes));
      okEmpty();
    } else if (m === 'PUT' && p.startsWith('/v1/agent/check/deregister')) {
      await owner.deregisterCheck(idOf(p, '/v1/agent/check/deregister/', 'check ID'));
      okEmpty();
    } else if (m === 'PUT' && /^\/v1\/agent\/check\/(pass|warn|fail)(\/|$)/.test(p)) {
      const verb = p.split('/')[4];
      const status: HealthStatus = verb === 'pass' ? 'passing' : verb === 'warn' ? 'warning' : 'critical';
      await owner.updateTtl(idOf(p, `/v1/agent/check/${verb}/`, 'check ID'), status, q.get('note') ?? '');
      okEmpty();
    } else if (m === 'PUT' && p.startsWith('/v1/agent/check/update')) {
      const id = idOf(p, '/v1/agent/check/update/', 'check ID');
      const b = (await readBody(req, d.maxBodyBytes)) as Record<string, unknown>;
      const str = (v: unknown): string => (typeof v === 'string' ? v : '');
      const status = str(b.Status ?? b.status);
      if (!STATUSES.includes(status)) throw invalid('Status', `Invalid check status: '${status}'`);
      await owner.updateTtl(id, status as HealthStatus, str(b.Output ?? b.output));
      okEmpty();
    } else if (m === 'PUT' && (p.startsWith('/v1/agent/service/maintenance') || p === '/v1/agent/maintenance')) {
      const raw = q.get('enable');
      if (raw === null) throw invalid('enable', 'Missing value for enable');
      const on = parseBool(raw);
      if (on === undefined) throw invalid('enable', `Invalid value for enable: ${JSON.stringify(raw)}`);
      const sid = p === '/v1/agent/maintenance' ? undefined : idOf(p, '/v1/agent/service/maintenance/', 'service ID');
      await owner.setMaintenance(on, q.get('reason') ?? '', sid);
      okEmpty();
    } else if (m === 'PUT' && p === '/v1/agent/reload') {
      await d.reload();
      okEmpty();
    } else if (m === 'GET' && p === '/v1/agent/members') {
      return false; // the servers' view (servers and every agent's node)
    } else if (p.startsWith('/v1/agent/')) {
      throw new BeaconError('BEACON_ERR_NOT_FOUND', `No route for ${m} ${p.slice(0, 256)} on the agent`);
    } else return false;
    return true;
  }

  return createServer({ requireHostHeader: false, headersTimeout: 10_000 }, (req, res) => {
    if (fastHit(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://agent');
    const handle = async () => {
      if (url.pathname === '/metrics' && req.method === 'GET') {
        const text = await d.registry.metrics();
        res.writeHead(200, { 'content-type': d.registry.contentType });
        return res.end(text);
      }
      if (url.pathname.startsWith('/v1/agent/') && (await agentRoute(req, res, url))) return;
      if (req.method === 'GET' && isWatchablePath(url.pathname) && !url.searchParams.has('consistent')) return cached(req, res, url);
      return proxy(req, res, url);
    };
    handle().catch((err: unknown) => sendError(res, err));
  });
}
