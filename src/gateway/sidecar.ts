import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../config/index.js';
import type { GatewayConfig, UpstreamSpec } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import { connectTo, classifyError } from './proxy.js';
import { instanceLabel, prepareTarget } from './resolve.js';
import type { Upstreams } from './upstreams.js';

/** Most instances one connection is tried on. */
const MAX_TRIES = 32;

/** One running upstream listener of the sidecar. */
export interface SidecarListener {
  readonly spec: UpstreamSpec;
  readonly address: HostPort;
}

/**
 * The TCP sidecar: one local listener per upstream. Each accepted connection goes to an instance
 * picked by the upstream's balancer (connections open count as calls in flight, connect time as
 * latency); a connection refused or timed out is tried on another instance before a byte of the
 * client's is read, so the client sees either a working connection or a closed one.
 */
export class Sidecar {
  readonly #servers: Array<{ server: Server; spec: UpstreamSpec }> = [];
  readonly #sockets = new Set<Socket>();
  readonly #cfg: GatewayConfig;
  readonly #upstreams: Upstreams;
  readonly #metrics: GatewayMetrics;
  readonly #log: Logger | undefined;
  #idle: Array<() => void> = [];

  constructor(cfg: GatewayConfig, upstreams: Upstreams, metrics: GatewayMetrics, log: Logger | undefined) {
    this.#cfg = cfg;
    this.#upstreams = upstreams;
    this.#metrics = metrics;
    this.#log = log;
  }

  async start(): Promise<SidecarListener[]> {
    const out: SidecarListener[] = [];
    // Start watching every upstream now, so the first connection does not wait for Beacon.
    for (const spec of this.#cfg.upstreams) void prepareTarget(this.#upstreams, { service: spec.service, tag: spec.tag, dc: spec.dc }).catch(() => {});
    for (const spec of this.#cfg.upstreams) {
      const server = createServer({ pauseOnConnect: true }, (s) => this.#accept(spec, s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(new Error(`--upstream ${spec.name}: cannot listen on ${formatHostPort(spec.listen)} (${err.code ?? err.message})`)),
        );
        server.listen(spec.listen.port, spec.listen.host, () => resolve());
      });
      const a = server.address() as { address: string; port: number };
      this.#servers.push({ server, spec });
      out.push({ spec, address: { host: a.address, port: a.port } });
    }
    return out;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  #accept(spec: UpstreamSpec, client: Socket): void {
    const listener = `sidecar:${spec.name}`;
    this.#sockets.add(client);
    this.#metrics.openConnections.inc({ listener });
    client.on('error', () => {});
    client.once('close', () => {
      this.#sockets.delete(client);
      this.#metrics.openConnections.dec({ listener });
      if (this.#sockets.size === 0) for (const f of this.#idle.splice(0)) f();
    });
    void this.#forward(spec, client).catch((err: unknown) => {
      this.#log?.warn({ upstream: spec.name, error: (err as Error).message }, 'sidecar connection not forwarded');
      client.destroy();
    });
  }

  async #forward(spec: UpstreamSpec, client: Socket): Promise<void> {
    const prepared = await prepareTarget(this.#upstreams, { service: spec.service, tag: spec.tag, dc: spec.dc });
    const { router, target } = prepared;
    const tried = new Set<string>();
    const key = client.remoteAddress ?? '';
    // Every instance may be tried once: a refused connection costs the client nothing.
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      if (client.destroyed) return;
      const inst = router.pickFrom(router.snapshotNow() ?? prepared.snap, key, tried);
      if (!inst) throw new Error(`${target.service}: no healthy instance${tried.size ? ' left to try' : ''}`);
      // Only connections that were never made are retried (nothing reached an instance), so
      // the retry budget does not apply: each instance is tried at most once.
      if (attempt > 0) this.#metrics.retry(target.service);
      tried.add(inst.id);
      const call = router.begin(inst);
      const wasEjected = router.outliers.isEjected(inst.id);
      const t0 = performance.now();
      let upstream: Socket;
      try {
        upstream = await connectTo(inst, this.#cfg.tryTimeoutMs);
      } catch (err) {
        call.done({ latencyMs: performance.now() - t0, failed: true });
        if (!wasEjected && router.outliers.isEjected(inst.id)) this.#metrics.ejection(target.service);
        this.#metrics.upstreamError(target.service, classifyError(err).kind);
        continue;
      }
      const connectMs = performance.now() - t0;
      this.#metrics.sidecarConnection(spec.name, instanceLabel(inst));
      if (client.destroyed) {
        upstream.destroy();
        call.done({ latencyMs: connectMs, failed: false, aborted: true });
        return;
      }
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      upstream.on('error', () => {});
      client.pipe(upstream);
      upstream.pipe(client);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        client.destroy();
        upstream.destroy();
        call.done({ latencyMs: connectMs, failed: false });
      };
      // A half-close is passed on by pipe(); a close or error of either side ends both.
      upstream.once('close', end);
      client.once('close', end);
      client.resume();
      return;
    }
    throw new Error(`${target.service}: no instance accepted the connection in ${MAX_TRIES} tries`);
  }

  /** Stops accepting; resolves when every connection has ended or after `graceMs`, then cuts the rest. */
  async close(graceMs: number): Promise<void> {
    // close() stops accepting; its callback would wait for every connection, which the grace bounds here.
    for (const { server } of this.#servers) server.close();
    if (this.#sockets.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        t.unref();
        this.#idle.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    for (const s of this.#sockets) s.destroy();
  }
}
