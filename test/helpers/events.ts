/** Helpers for the event stream tests: read /v1/beacon/events, run a webhook receiver. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BeaconEvent } from '../../src/events/index.js';

/** What the history holds after `since` (follow=false), parsed. */
export async function readEvents(base: string, query = ''): Promise<BeaconEvent[]> {
  const res = await fetch(`${base}/v1/beacon/events?follow=false${query ? `&${query}` : ''}`);
  if (res.status !== 200) throw new Error(`events: ${res.status} ${await res.text()}`);
  return (await res.text())
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as BeaconEvent);
}

/** Polls `probe` until it returns a value that is not undefined, within `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A real HTTP receiver for the webhook sink. `mode` decides how it answers each POST. */
export class Receiver {
  readonly batches: BeaconEvent[][] = [];
  requests = 0;
  mode: 'ok' | 'fail' | 'reset' | 'hang' = 'ok';
  private server: Server | undefined;
  private readonly hung = new Set<() => void>();

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        this.requests++;
        if (this.mode === 'fail') return void res.writeHead(503).end('not now');
        if (this.mode === 'reset') return void req.socket.destroy();
        if (this.mode === 'hang') return void this.hung.add(() => res.destroy());
        this.batches.push(
          body
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as BeaconEvent),
        );
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  get events(): BeaconEvent[] {
    return this.batches.flat();
  }

  async stop(): Promise<void> {
    for (const h of this.hung) h();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A key identifying one event across deliveries. */
export const eventKey = (e: BeaconEvent): string => `${e.revision}|${e.kind}|${e.node ?? ''}|${e.instance ?? ''}|${e.check ?? ''}`;
