// A blocking-query watcher for benchmarks: one keep-alive HTTP/1.1 connection on a raw socket
// that sends a GET and resolves when the answer is complete, parsing no more of it than status,
// Content-Length and X-Consul-Index (so a client with a thousand of them costs little each).
import { connect } from 'node:net';

/** One keep-alive HTTP/1.1 connection that sends a GET and resolves when its answer is complete. */
export class HttpWatcher {
  constructor(host, port) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (d) => this.onData(d));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.pending = undefined;
  }

  get(path) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, chunks: [], length: 0, head: undefined };
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
    });
  }

  onData(d) {
    const p = this.pending;
    if (!p) return;
    p.chunks.push(d);
    p.length += d.length;
    if (!p.head) {
      const all = p.chunks.length === 1 ? d : Buffer.concat(p.chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = all.subarray(0, end).toString('latin1');
      const status = Number(text.slice(9, 12));
      const cl = /\r\ncontent-length: *(\d+)/i.exec(text);
      const ix = /\r\nx-consul-index: *(\d+)/i.exec(text);
      p.head = { status, bodyStart: end + 4, bodyLength: cl ? Number(cl[1]) : 0, index: ix ? Number(ix[1]) : 0 };
      p.chunks = [all];
    }
    if (p.length < p.head.bodyStart + p.head.bodyLength) return;
    const at = performance.now();
    const all = p.chunks.length === 1 ? p.chunks[0] : Buffer.concat(p.chunks);
    const body = all.subarray(p.head.bodyStart, p.head.bodyStart + p.head.bodyLength);
    this.pending = undefined;
    p.resolve({ at, status: p.head.status, index: p.head.index, body });
  }

  fail(err) {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  close() {
    this.socket.destroy();
  }
}
