import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { HttpContext } from './context.js';

/** Where the built UI is: dist/ui beside the compiled server (or, running from the sources, the repository's dist/ui). */
export function defaultUiDir(): string | undefined {
  for (const dir of [resolve(import.meta.dirname, '..', '..', 'ui'), resolve(import.meta.dirname, '..', '..', '..', 'dist', 'ui')]) {
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  /** Names with a content hash (assets/…) never change: cached for a year; the rest revalidate. */
  immutable: boolean;
}

/** Every file of the built UI, read once into memory (it is small), with a gzipped copy of the text ones. */
export function loadUiAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (d: string, depth: number): void => {
    if (depth > 4) return;
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) {
        walk(full, depth + 1);
        continue;
      }
      const rel = relative(dir, full).split(sep).join('/');
      const body = readFileSync(full);
      const type = TYPES[extname(name)] ?? 'application/octet-stream';
      const text = type.startsWith('text/') || type.includes('json') || type.includes('svg');
      out.set(rel, {
        body,
        gzip: text && body.length > 512 ? gzipSync(body) : undefined,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        immutable: rel.startsWith('assets/'),
      });
    }
  };
  walk(dir, 0);
  return out;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  reply.header('Content-Type', a.type);
  reply.header('Cache-Control', a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('ETag', a.etag);
  reply.header('X-Content-Type-Options', 'nosniff');
  if (a.type.startsWith('text/html')) {
    // Every asset is served by this server: nothing is loaded from, or sent to, any other host.
    reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    reply.header('Referrer-Policy', 'no-referrer');
  }
  reply.header('Vary', 'Accept-Encoding');
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  if (a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    reply.header('Content-Encoding', 'gzip');
    return reply.send(a.gzip);
  }
  return reply.send(a.body);
}

/**
 * The web UI's routes: `/` redirects to `/ui/`; `/ui/<file>` serves a file of the built UI with
 * its content type (hashed assets cached for a year, the rest revalidated by ETag); any other
 * `/ui/...` path without a file extension is a view of the UI (a service, a node) and gets
 * index.html. A missing file with an extension is a 404. Used by the server, and by anything
 * else that serves the UI.
 *
 * @example
 * createHttpApp(ctx, [uiRoutes(defaultUiDir())]);
 */
export function uiRoutes(dir: string | undefined): (ctx: HttpContext) => RouteOptions[] {
  const assets = dir ? loadUiAssets(dir) : new Map<string, Asset>();
  const index = assets.get('index.html');
  const notBuilt = (reply: FastifyReply) =>
    reply.code(404).header('X-Beacon-Error', 'BEACON_ERR_NOT_FOUND').type('text/plain; charset=utf-8').send('The web UI is not built: run npm run build');
  return () => [
    {
      method: 'GET',
      url: '/',
      handler: async (_req, reply) => reply.redirect('/ui/', 302),
    },
    {
      // The router ignores a trailing slash: this is /ui/ as well as /ui.
      method: 'GET',
      url: '/ui',
      handler: async (req, reply) => (index ? send(req, reply, index) : notBuilt(reply)),
    },
    {
      method: 'GET',
      url: '/ui/*',
      handler: async (req, reply) => {
        if (!index) return notBuilt(reply);
        const path = (req.params as { '*': string })['*'];
        const asset = assets.get(path);
        if (asset) return send(req, reply, asset);
        if (path === '' || !/\.[a-z0-9]+$/i.test(path)) return send(req, reply, index);
        return reply.code(404).header('X-Beacon-Error', 'BEACON_ERR_NOT_FOUND').send();
      },
    },
  ];
}
