/**
 * TTL heartbeats before routing. `PUT /v1/agent/check/pass|warn|fail/<id>` is the write path
 * every TTL-checked instance hits every few seconds, and almost always changes nothing (the
 * timer restarts in memory; no store write). Through the router, hooks and reply objects it
 * cost about twice the CPU of a bare `node:http` answer, so the plain form of the request is
 * answered here, with the same headers, metrics and error texts as the routed one. Anything
 * unusual (a body, another query parameter, another datacenter, a bad escape) goes on to the
 * router, which answers it as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthStatus } from '../../catalog/index.js';
import type { HttpContext } from './context.js';
import { leaderHeaders } from './leader-headers.js';
import { consulErrorText, toBeaconError } from './replies.js';

const PREFIX = '/v1/agent/check/';
const VERBS: Record<string, HealthStatus> = { 'pass/': 'passing', 'warn/': 'warning', 'fail/': 'critical' };

/** Returns a handler that answers a plain heartbeat and returns true, or returns false to let the router take the request. */
export function heartbeatFastPath(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => boolean {
  const headers = (extra: Record<string, string | number>) => ({
    'x-consul-index': String(Math.max(1, ctx.catalog.revision)),
    ...leaderHeaders(ctx),
    'x-consul-default-acl-policy': ctx.acl?.defaultPolicy ?? 'allow',
    ...extra,
  });

  return (req, res) => {
    const url = req.url;
    if (req.method !== 'PUT' || url === undefined || !url.startsWith(PREFIX)) return false;
    // With ACLs restricting anything, the router checks the token (acl.ts).
    if (ctx.acl?.active) return false;
    const verb = url.slice(PREFIX.length, PREFIX.length + 5);
    const status = VERBS[verb];
    if (status === undefined) return false;
    // No body: anything announced goes through the router (which reads and bounds it).
    const len = req.headers['content-length'];
    if ((len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined) return false;
    const q = url.indexOf('?', PREFIX.length + 5);
    const rawId = q < 0 ? url.slice(PREFIX.length + 5) : url.slice(PREFIX.length + 5, q);
    let id: string;
    let note = '';
    try {
      id = decodeURIComponent(rawId);
      if (q >= 0) {
        const params = new URLSearchParams(url.slice(q + 1));
        for (const [k, v] of params) {
          // One note and a dc naming this datacenter are all the plain form takes.
          if (k === 'note' && params.getAll('note').length === 1) note = v;
          else if (!(k === 'dc' && (v === '' || v === ctx.config.datacenter))) return false;
        }
      }
    } catch {
      return false;
    }
    if (id === '') return false;
    const start = process.hrtime.bigint();
    req.resume();
    const done = (code: number) => ctx.metrics.record(`${PREFIX}${verb}*`, 'PUT', code, Number(process.hrtime.bigint() - start) / 1e9);
    ctx.local.updateTtl(id, status, note).then(
      () => {
        res.writeHead(200, headers({ 'content-length': 0 }));
        res.end();
        done(200);
      },
      (err: unknown) => {
        const be = toBeaconError(err);
        if (be.code === 'BEACON_ERR_INTERNAL') ctx.logger.error({ err, url }, 'request failed');
        const body = Buffer.from(consulErrorText(be));
        res.writeHead(be.status, headers({ 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length, 'x-beacon-error': be.code }));
        res.end(body);
        done(be.status);
      },
    );
    return true;
  };
}
