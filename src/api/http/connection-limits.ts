import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import client, { type Registry } from 'prom-client';
import { sharedCounter } from './metrics.js';

export interface ConnectionLimits {
  /** Open connections one client address may hold (Consul's http_max_conns_per_client); 0: no limit. */
  perClient: number;
  /** Open connections in all, below the process's open-file limit so the server keeps descriptors for its store, DNS and files. */
  total: number;
  /** Loopback connections taken past `total`, so local health checks and operators still get an answer. */
  loopbackReserve: number;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** The soft open-file limit of this process (Linux), or undefined where it cannot be read. */
function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return undefined;
    return Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Default limits: 200 connections per client address, as Consul's agent; in all, the open-file
 * limit less 256 descriptors kept for everything else (at least 64; 16,384 when the limit
 * cannot be read); 32 more for loopback clients.
 */
export function defaultConnectionLimits(perClient = 200): ConnectionLimits {
  const files = openFileLimit();
  return { perClient, total: files === undefined ? 16_384 : Math.max(64, files - 256), loopbackReserve: 32 };
}

/**
 * Caps an HTTP server's connections, per client address and in all: one over a cap is closed at
 * once, before a byte is read (Consul refuses the same way), and counted in
 * `beacon_http_connections_refused_total{reason}`. With the common limit of 1,024 open files,
 * 1,100 idle connections from one client otherwise made every request and DNS-over-TCP query
 * of every other client fail.
 *
 * @example
 * limitConnections(server, defaultConnectionLimits(200), registry);
 */
export function limitConnections(server: Server, limits: ConnectionLimits, registry?: Registry): void {
  const byClient = new Map<string, number>();
  let open = 0;
  const refused = registry
    ? sharedCounter(registry, 'beacon_http_connections_refused_total', 'HTTP connections closed at once because a limit was reached: per_client or total.', [
        'reason',
      ])
    : undefined;
  if (registry && !registry.getSingleMetric('beacon_http_connections')) {
    new client.Gauge({
      name: 'beacon_http_connections',
      help: 'Open HTTP connections.',
      registers: [registry],
      collect() {
        this.set(open);
      },
    });
  }
  server.on('connection', (sock: Socket) => {
    const addr = sock.remoteAddress ?? '';
    const mine = byClient.get(addr) ?? 0;
    const loopback = LOOPBACK.test(addr);
    let reason: 'per_client' | 'total' | undefined;
    if (limits.perClient > 0 && mine >= limits.perClient) reason = 'per_client';
    else if (open >= limits.total + (loopback ? limits.loopbackReserve : 0)) reason = 'total';
    if (reason) {
      refused?.inc({ reason });
      sock.destroy();
      return;
    }
    open++;
    byClient.set(addr, mine + 1);
    sock.once('close', () => {
      open--;
      const n = (byClient.get(addr) ?? 1) - 1;
      if (n <= 0) byClient.delete(addr);
      else byClient.set(addr, n);
    });
  });
}
