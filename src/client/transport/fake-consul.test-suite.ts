/**
 * A small fake Consul HTTP server on 127.0.0.1:0 for the SDK's protocol unit tests: health
 * reads with blocking queries, agent register/deregister/check-pass, catalog look-ups, and knobs
 * to misbehave (fixed status, index override, no blocking). Test code only (not shipped).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeEntry {
  id: string;
  address: string;
  port: number;
  tags?: string[];
  status?: 'passing' | 'warning' | 'critical';
  weights?: { Passing: number; Warning: number };
  meta?: Record<string, string>;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
  at: number;
}

export class FakeConsul {
  readonly server: Server;
  url = '';
  index = 10;
  services = new Map<string, FakeEntry[]>();
  registered = new Map<string, Record<string, unknown>>();
  requests: FakeRequest[] = [];
  /** Answer every request with this status (and body) instead. */
  failWith: { status: number; body?: string } | undefined;
  /** Send this X-Consul-Index instead of the real one ('' to omit the header). */
  indexOverride: string | undefined;
  /** Answer blocking queries at once instead of waiting. */
  noBlocking = false;
  #waiters = new Set<() => void>();

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(): Promise<FakeConsul> {
    const f = new FakeConsul();
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}`;
    return f;
  }

  /** Replaces a service's entries and bumps the index, waking blocked queries. */
  set(name: string, entries: FakeEntry[]): void {
    this.services.set(name, entries);
    this.bump();
  }

  bump(): void {
    this.index += 1;
    for (const w of [...this.#waiters]) w();
  }

  count(pathPrefix: string, method = 'GET'): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }

  async close(): Promise<void> {
    for (const w of [...this.#waiters]) w();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #entries(name: string, passing: boolean, tags: string[]): unknown[] {
    return (this.services.get(name) ?? [])
      .filter((e) => (passing ? (e.status ?? 'passing') === 'passing' : true))
      .filter((e) => tags.every((t) => e.tags?.includes(t)))
      .map((e) => ({
        Node: { Node: 'node-1', Address: '127.0.0.1', Datacenter: 'dc1' },
        Service: {
          ID: e.id,
          Service: name,
          Address: e.address,
          Port: e.port,
          Tags: e.tags ?? [],
          Meta: e.meta ?? {},
          Weights: e.weights ?? { Passing: 1, Warning: 1 },
        },
        Checks: [
          { CheckID: 'serfHealth', Status: 'passing' },
          { CheckID: `service:${e.id}`, Status: e.status ?? 'passing' },
        ],
      }));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url!, 'http://x');
    this.requests.push({ method: req.method!, path: url.pathname, query: url.searchParams, body, at: performance.now() });
    if (this.failWith) {
      res.writeHead(this.failWith.status, { 'content-type': 'text/plain' }).end(this.failWith.body ?? '');
      return;
    }
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      const idx = this.indexOverride ?? String(this.index);
      const h: Record<string, string> = { ...headers };
      if (idx !== '') h['x-consul-index'] = idx;
      if (payload === undefined) res.writeHead(status, h).end();
      else if (typeof payload === 'string') res.writeHead(status, { ...h, 'content-type': 'text/plain' }).end(payload);
      else res.writeHead(status, { ...h, 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const m = url.pathname.match(/^\/v1\/health\/service\/([^/]+)$/);
    if (req.method === 'GET' && m) {
      const minIndex = Number(url.searchParams.get('index') ?? 0);
      if (minIndex > 0 && minIndex >= this.index && !this.noBlocking) {
        const wait = parseInt(url.searchParams.get('wait') ?? '300000', 10);
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t);
            this.#waiters.delete(done);
            resolve();
          };
          const t = setTimeout(done, wait);
          this.#waiters.add(done);
        });
      }
      if (res.destroyed) return;
      send(200, this.#entries(decodeURIComponent(m[1]), url.searchParams.has('passing'), url.searchParams.getAll('tag')));
      return;
    }
    if (req.method === 'PUT' && url.pathname === '/v1/agent/service/register') {
      const def = JSON.parse(body) as Record<string, unknown>;
      this.registered.set(String(def.ID ?? def.Name), def);
      send(200);
      return;
    }
    const dereg = url.pathname.match(/^\/v1\/agent\/service\/deregister\/(.+)$/);
    if (req.method === 'PUT' && dereg) {
      this.registered.delete(decodeURIComponent(dereg[1]));
      send(200);
      return;
    }
    const pass = url.pathname.match(/^\/v1\/agent\/check\/pass\/(.+)$/);
    if (req.method === 'PUT' && pass) {
      const checkId = decodeURIComponent(pass[1]);
      const known = [...this.registered.values()].some((d) => (d.Check as { CheckID?: string } | undefined)?.CheckID === checkId);
      if (known) send(200);
      else send(500, `CheckID "${checkId}" does not have associated TTL`);
      return;
    }
    const cat = url.pathname.match(/^\/v1\/catalog\/service\/(.+)$/);
    if (req.method === 'GET' && cat) {
      const name = decodeURIComponent(cat[1]);
      send(
        200,
        [...this.registered.values()].filter((d) => d.Name === name).map((d) => ({ ServiceID: d.ID, ServiceName: d.Name })),
      );
      return;
    }
    send(404, '');
  }
}

/** Polls `cond` every 5 ms until it holds or `timeoutMs` passes (then throws with `what`). */
export async function until(cond: () => boolean, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
