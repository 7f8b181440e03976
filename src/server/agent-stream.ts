import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import client from 'prom-client';
import type { Catalog, NodeRecord } from '../catalog/index.js';
import type { Logger } from '../config/index.js';
import { BeaconError, isBeaconError } from '../errors/index.js';
import {
  AGENT_STREAM_PATH,
  MAX_AGENT_MESSAGE_BYTES,
  MAX_WATCHES_PER_STREAM,
  parseAgentMessage,
  type AgentMessage,
  type ServerMessage,
} from '../api/http/index.js';
import type { Session, Sessions } from '../health/index.js';
import { applyAgentSync, desiredFromSync, nodeRecordOf } from './agent-sync.js';
import { RepairPlanner } from './repair-plan.js';
import { WatchHubs, type WatchSub } from './agent-watch-hub.js';
import type { DesiredNode } from './repair-plan.js';
import type { AclResolver, Authorizer } from '../acl/index.js';
import { permissionDenied, secretOf } from '../api/http/index.js';

export interface AgentStreamDeps {
  app: FastifyInstance;
  catalog: Catalog;
  sessions: Sessions;
  /** This server's node (an agent may not take its name). */
  serverNode: string;
  datacenter: string;
  logger: Logger;
  registry: client.Registry;
  signal: AbortSignal;
  /** ACLs: the stream's token (X-Consul-Token on the upgrade) decides what the agent may do. */
  acl?: AclResolver;
}

/** An agent whose unsent frames pile up past this is too slow: its connection is closed and it reconnects. */
const MAX_BUFFERED_BYTES = 64 << 20;

/**
 * The server's end of the agent stream (`GET /v1/beacon/agent/stream`, a WebSocket): per
 * connection, the agent's node session (kept alive while the connection lives, left to lapse
 * after its TTL when it drops, so the node's serfHealth turns critical), its syncs and status
 * changes written through catalog commands, and its watches, fanned out from one evaluation
 * per read shape and index shared by every agent.
 */
export function attachAgentStream(deps: AgentStreamDeps): { close(): void; hubs: WatchHubs } {
  const { app, logger } = deps;
  const hubs = new WatchHubs(app, deps.signal, logger);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_MESSAGE_BYTES, perMessageDeflate: false });
  const conns = new Set<AgentConnection>();
  const registry = deps.registry;
  if (!registry.getSingleMetric('beacon_server_agent_streams')) {
    new client.Gauge({
      name: 'beacon_server_agent_streams',
      help: 'Agent stream connections open on this server.',
      registers: [registry],
      collect() {
        this.set(conns.size);
      },
    });
    new client.Gauge({
      name: 'beacon_server_agent_watches',
      help: 'Watches the connected agents hold on this server (over all connections).',
      registers: [registry],
      collect() {
        let n = 0;
        for (const c of conns) n += c.watchCount;
        this.set(n);
      },
    });
    new client.Gauge({
      name: 'beacon_server_agent_watch_shapes',
      help: 'Distinct reads the agents watch, each evaluated once per index.',
      registers: [registry],
      collect() {
        this.set(hubs.size);
      },
    });
  }
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_STREAM_PATH || deps.signal.aborted) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // The agent's token, resolved before the upgrade: an unknown one is refused as any request's is.
    let authz: Authorizer | undefined;
    if (deps.acl?.active) {
      try {
        authz = deps.acl.resolve(secretOf(req.headers, req.url ?? ''));
      } catch {
        socket.end(
          'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nX-Beacon-Error: BEACON_ERR_ACL_NOT_FOUND\r\nContent-Length: 13\r\n\r\nACL not found',
        );
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new AgentConnection(ws, deps, hubs, authz);
      conns.add(conn);
      ws.on('close', () => {
        conns.delete(conn);
        conn.closed();
      });
    });
  };
  app.server.on('upgrade', onUpgrade);
  return {
    hubs,
    close() {
      app.server.off('upgrade', onUpgrade);
      for (const c of conns) c.ws.close(1001, 'server shutting down');
      wss.close();
    },
  };
}

class AgentConnection {
  private node: NodeRecord | undefined;
  private session: Session | undefined;
  private sessionTtl = 10;
  private keepTimer: NodeJS.Timeout | undefined;
  private readonly watches = new Map<number, { sub: WatchSub; cancel: () => void }>();
  private writes: Promise<unknown> = Promise.resolve();
  private readonly planner = new RepairPlanner();
  private done = false;

  constructor(
    readonly ws: WebSocket,
    private readonly deps: AgentStreamDeps,
    private readonly hubs: WatchHubs,
    /** What the agent's token allows (undefined: ACLs restrict nothing). */
    private readonly authz?: Authorizer,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary)
        return this.fail(undefined, new BeaconError('BEACON_ERR_AGENT_PROTOCOL', 'message: binary frames are not spoken here', { field: 'message' }));
      let m: AgentMessage;
      try {
        m = parseAgentMessage(data.toString());
      } catch (err) {
        return this.fail(undefined, err);
      }
      this.handle(m);
    });
    ws.on('error', () => undefined);
  }

  get watchCount(): number {
    return this.watches.size;
  }

  private send(m: ServerMessage | string): void {
    if (this.done) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.deps.logger.warn({ node: this.node?.Node }, 'agent stream: the agent reads too slowly; closing its connection');
      this.ws.terminate();
      return;
    }
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  private fail(ref: { id?: number; seq?: number } | undefined, err: unknown): void {
    const be = isBeaconError(err) ? err : new BeaconError('BEACON_ERR_INTERNAL', (err as Error).message);
    if (be.code === 'BEACON_ERR_INTERNAL') this.deps.logger.error({ err, node: this.node?.Node }, 'agent stream: a request failed');
    this.send({ op: 'error', ...ref, code: be.code, message: be.message, ...(be.field ? { field: be.field } : {}) });
  }

  private handle(m: AgentMessage): void {
    switch (m.op) {
      case 'hello':
        return void this.hello(m).catch((err) => this.fail(undefined, err));
      case 'watch': {
        if (this.watches.has(m.id)) this.unwatch(m.id);
        if (this.watches.size >= MAX_WATCHES_PER_STREAM) {
          return this.fail(
            { id: m.id },
            new BeaconError('BEACON_ERR_AGENT_PROTOCOL', `id: a connection holds at most ${MAX_WATCHES_PER_STREAM} watches`, { field: 'id' }),
          );
        }
        const denied = this.authz ? watchDenied(this.authz, m.path) : undefined;
        if (denied) return this.fail({ id: m.id }, denied);
        const sub: WatchSub = { id: m.id, index: m.index, send: (f) => this.send(f) };
        this.watches.set(m.id, { sub, cancel: this.hubs.subscribe(m.path, sub) });
        return;
      }
      case 'unwatch':
        return this.unwatch(m.id);
      case 'sync':
      case 'status':
      case 'leave': {
        const node = this.node;
        if (!node) return this.fail({ seq: m.seq }, new BeaconError('BEACON_ERR_AGENT_PROTOCOL', 'op: say hello first', { field: 'op' }));
        this.writes = this.writes.then(() =>
          this.write(node, m).then(
            (writes) => this.send({ op: 'ack', seq: m.seq, writes }),
            (err) => this.fail({ seq: m.seq }, err),
          ),
        );
        return;
      }
    }
  }

  private async write(node: NodeRecord, m: Extract<AgentMessage, { op: 'sync' | 'status' | 'leave' }>): Promise<number> {
    const cmd = this.deps.catalog.commands;
    if (m.op === 'status') {
      const { written } = await cmd.setCheckStatus(node.Node, m.checkId, { status: m.status, output: m.output });
      return written ? 1 : 0;
    }
    if (m.op === 'leave') {
      clearTimeout(this.keepTimer);
      const s = this.session;
      this.session = undefined;
      await s?.end({ revoke: true });
      return 0;
    }
    const { desired: all, statuses } = desiredFromSync(node, m);
    const desired = this.authz ? this.permitted(all) : all;
    return applyAgentSync(this.deps.catalog, this.planner, desired, statuses, this.session !== undefined);
  }

  /**
   * The part of a sync the agent's token may write: a service it may not write is left out (with
   * its checks) and logged, and the rest is synced, as Consul's anti-entropy skips what its token
   * refuses.
   */
  private permitted(desired: DesiredNode): DesiredNode {
    const a = this.authz!;
    const denied = new Set<string>();
    for (const [id, { service }] of desired.services) if (!a.serviceWrite(service.Service)) denied.add(id);
    if (denied.size === 0) return desired;
    this.deps.logger.warn(
      { node: desired.node.Node, services: [...denied] },
      `agent stream: the agent's token lacks service:write on ${denied.size} of its services; they are left out of the catalog`,
    );
    return {
      node: desired.node,
      services: new Map([...desired.services].filter(([id]) => !denied.has(id))),
      checks: new Map([...desired.checks].filter(([, c]) => !denied.has(c.check.ServiceID))),
      checksOf: (sid) => (denied.has(sid) ? [] : desired.checksOf(sid)),
    };
  }

  private async hello(m: Extract<AgentMessage, { op: 'hello' }>): Promise<void> {
    if (this.node) throw new BeaconError('BEACON_ERR_AGENT_PROTOCOL', 'op: hello was said already on this connection', { field: 'op' });
    const name = m.node.Node;
    const existing = this.deps.catalog.node(name).value;
    if (name === this.deps.serverNode || existing?.services.some((s) => s.record.ID === 'consul'))
      throw new BeaconError('BEACON_ERR_AGENT_PROTOCOL', `node.Node: ${JSON.stringify(name)} is a server's node; give the agent its own --node`, {
        field: 'node.Node',
      });
    if (!m.node.Address) throw new BeaconError('BEACON_ERR_AGENT_PROTOCOL', 'node.Address: missing', { field: 'node.Address' });
    if (this.authz && !this.authz.nodeWrite(name)) throw permissionDenied(this.authz, 'node:write', name);
    this.node = nodeRecordOf(m.node, this.deps.datacenter);
    this.sessionTtl = m.ttl;
    await this.openSession();
    this.send({ op: 'welcome', server: this.deps.serverNode, datacenter: this.deps.datacenter });
  }

  private async openSession(): Promise<void> {
    if (this.done || !this.node) return;
    try {
      this.session = await this.deps.sessions.open(this.node.Node, this.sessionTtl);
      if (this.done) return;
    } catch (err) {
      this.deps.logger.warn({ err, node: this.node.Node }, "agent stream: opening the agent's session failed; trying again");
    }
    this.scheduleKeepAlive();
  }

  private scheduleKeepAlive(): void {
    if (this.done) return;
    const ms = ((this.sessionTtl * 1000) / 3) * (0.8 + Math.random() * 0.2);
    this.keepTimer = setTimeout(() => {
      const s = this.session;
      if (!s) return void this.openSession();
      s.keepAlive().then(
        (alive) => (alive ? this.scheduleKeepAlive() : void this.openSession()),
        () => this.scheduleKeepAlive(),
      );
    }, ms);
    this.keepTimer.unref();
  }

  private unwatch(id: number): void {
    const w = this.watches.get(id);
    if (!w) return;
    w.cancel();
    this.watches.delete(id);
  }

  /** The connection dropped: watches go; the session is left to lapse after its TTL (the agent may come back first). */
  closed(): void {
    this.done = true;
    clearTimeout(this.keepTimer);
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }
}

/**
 * Whether the agent's token may watch a read: a service's reads need read on the service, a
 * node's on the node; the lists (every service, every node, a health state) need read on every
 * name (a `service_prefix ""` and `node_prefix ""` read rule), because one shared answer is sent
 * to every agent watching it and is not filtered per token.
 */
function watchDenied(a: Authorizer, path: string): BeaconError | undefined {
  if (a.allowsAll) return undefined;
  const clean = path.split('?')[0];
  const one = /^\/v1\/(?:health|catalog)\/(service|node|checks)\/([^/]+)$/.exec(clean);
  let ok: boolean;
  let perm: string;
  let name: string | undefined;
  if (one) {
    name = decodeURIComponent(one[2]);
    const res = one[1] === 'node' ? 'node' : 'service';
    ok = a.can(res, name, 'read');
    perm = `${res}:read`;
  } else if (/^\/v1\/status\//.test(clean) || clean === '/v1/catalog/datacenters') {
    return undefined;
  } else {
    ok = a.can('service', '', 'read') && a.can('node', '', 'read');
    perm = 'service:read,node:read (every name)';
  }
  return ok ? undefined : permissionDenied(a, perm, name);
}
