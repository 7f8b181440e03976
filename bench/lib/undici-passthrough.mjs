// The floor of what a Node.js reverse proxy can do, for bench/gateway.mjs: node:http in front,
// one undici Pool per backend, round robin, every request streamed through with pool.stream().
// No discovery, routing, retries, metrics or header rewriting beyond dropping hop-by-hop ones.
//   node bench/lib/undici-passthrough.mjs PORT,PORT,...   -> prints "passthrough ready PORT"
import { createServer } from 'node:http';
import { Pool } from 'undici';

const pools = process.argv[2].split(',').map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: 1024, pipelining: 1 }));
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection']);
const strip = (h) => {
  const out = {};
  for (const k in h) if (!HOP.has(k)) out[k] = h[k];
  return out;
};
let next = 0;
const server = createServer((req, res) => {
  const pool = pools[next++ % pools.length];
  pool
    .stream(
      { path: req.url, method: req.method, headers: strip(req.headers), body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, strip(headers));
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`passthrough ready ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
