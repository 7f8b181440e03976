import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers listed in `Connection` are hop-by-hop too. */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const out = new Set<string>();
  for (const t of text.split(',')) {
    const n = t.trim().toLowerCase();
    if (n !== '' && n !== 'close' && n !== 'keep-alive') out.add(n);
  }
  return out.size ? out : undefined;
}

/** The request's client address, as X-Forwarded-For writes it. */
export function clientAddress(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * The headers sent upstream: the client's, less hop-by-hop ones and `Expect` (the gateway
 * answers `100-continue` itself), with `X-Forwarded-For` (the client address appended),
 * `X-Forwarded-Proto` (this listener's scheme) and `X-Forwarded-Host` (the Host the client sent).
 * `Host` itself is kept.
 */
export function upstreamHeaders(req: IncomingMessage, proto: string): Record<string, string | string[]> {
  const h = req.headers;
  const listed = connectionListed(h.connection);
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined || HOP_BY_HOP.has(k) || k === 'expect' || listed?.has(k)) continue;
    out[k] = v;
  }
  const xff = h['x-forwarded-for'];
  const client = clientAddress(req);
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${client}` : client;
  out['x-forwarded-proto'] = proto;
  if (h.host !== undefined) out['x-forwarded-host'] = h.host;
  return out;
}

/** The upstream's response headers as sent to the client: hop-by-hop ones removed. */
export function downstreamHeaders(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionListed(h.connection);
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined || HOP_BY_HOP.has(k) || listed?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The raw request head of an upgrade (WebSocket) request for the upstream: request line and the
 * client's headers as received (Connection and Upgrade included: they are the point), plus the
 * X-Forwarded-* headers.
 */
export function upgradeHead(req: IncomingMessage, path: string, proto: string): string {
  const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`];
  const raw = req.rawHeaders;
  let xff: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') {
      xff = xff ? `${xff}, ${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue;
    lines.push(`${name}: ${raw[i + 1]}`);
  }
  const client = clientAddress(req);
  lines.push(`X-Forwarded-For: ${xff ? `${xff}, ${client}` : client}`);
  lines.push(`X-Forwarded-Proto: ${proto}`);
  if (req.headers.host !== undefined) lines.push(`X-Forwarded-Host: ${req.headers.host}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
