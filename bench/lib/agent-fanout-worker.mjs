// Parks N blocking queries on one agent (one raw keep-alive TCP connection each) and times every
// complete answer after "GO <epoch-ms>" arrives on stdin. Run in its own process (with a raised
// open-file limit): prints "PARKED <n>", then after GO a JSON line with the latencies' summary.
//   node bench/lib/agent-fanout-worker.mjs <port> <path-with-index> <count>
import net from 'node:net';

const [port, path, countArg] = process.argv.slice(2);
const COUNT = Number(countArg);
const done = [];
let go = 0;
let open = 0;
const request = `GET ${path} HTTP/1.1\r\nHost: agent\r\n\r\n`;
const sockets = [];

function connect(i) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1', () => {
      open++;
      s.write(request);
      resolve();
    });
    let buf = '';
    let need = -1;
    s.setEncoding('latin1');
    s.on('data', (d) => {
      buf += d;
      if (need < 0) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) return;
        const m = /content-length: (\d+)/i.exec(buf.slice(0, h));
        need = h + 4 + Number(m ? m[1] : 0);
      }
      if (buf.length >= need) {
        done.push(performance.timeOrigin + performance.now());
        s.destroy();
      }
    });
    s.on('error', reject);
    sockets[i] = s;
  });
}

for (let i = 0; i < COUNT; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, COUNT - i) }, (_, j) => connect(i + j)));
}
process.stdout.write(`PARKED ${open}\n`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  const m = /GO (\d+(\.\d+)?)/.exec(d);
  if (!m) return;
  go = Number(m[1]);
  const started = Date.now();
  const t = setInterval(() => {
    if (done.length >= COUNT || Date.now() - started > 30_000) {
      clearInterval(t);
      const lat = done.map((x) => x - go).sort((a, b) => a - b);
      const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : NaN);
      process.stdout.write(`${JSON.stringify({ answered: lat.length, p50: pct(0.5), p99: pct(0.99), max: lat[lat.length - 1], latencies: lat })}\n`);
      process.exit(0);
    }
  }, 20);
});
