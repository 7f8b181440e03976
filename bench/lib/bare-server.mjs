// The baseline for HTTP read benchmarks: a bare node:http server that answers every request
// with one recorded response (status, headers, body bytes). Run as a child process:
//   node bench/lib/bare-server.mjs <response.json>   -> prints "bare ready PORT"
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const rec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const body = Buffer.from(rec.bodyBase64, 'base64');
const headers = { ...rec.headers, 'content-length': String(body.length) };

const server = createServer((req, res) => {
  req.resume();
  res.writeHead(rec.status, headers);
  res.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`bare ready ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
