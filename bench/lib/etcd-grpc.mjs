// A minimal etcd v3 client for benchmarks that use etcd directly as a registry, the way its
// client examples do: grant a lease, put with it, range by prefix, watch a prefix. It speaks
// gRPC over one HTTP/2 connection (node:http2, messages encoded by hand) rather than through
// @grpc/grpc-js, which needs about twice the client CPU per call: on a small machine the client
// competes with the servers, and etcd should not pay for a heavy client. Only the fields the
// benchmarks need are encoded or decoded; answers are returned as raw bytes.
import http2 from 'node:http2';

// ---- protobuf -----------------------------------------------------------------------------------

/** A varint of a non-negative number or bigint (int64 lease IDs need bigint). */
export function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v > 127n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** A length-delimited field (bytes, string or embedded message). */
export const bytesField = (no, bytes) => Buffer.concat([varint((no << 3) | 2), varint(bytes.length), Buffer.from(bytes)]);
/** A varint field (int64, bool). */
export const varintField = (no, n) => Buffer.concat([varint(no << 3), varint(n)]);

/** Reads a varint at `pos`; resolves [value as bigint, next position]. */
function readVarint(buf, pos) {
  let n = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    n |= BigInt(b & 127) << shift;
    if (b < 128) return [n, pos];
    shift += 7n;
  }
}

/** The top-level fields of a message: Map of field number -> array of values (bigint or Buffer). */
export function decodeFields(buf) {
  const fields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const type = Number(key & 7n);
    let value;
    if (type === 0) {
      [value, pos] = readVarint(buf, pos);
    } else if (type === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      value = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
    } else if (type === 1) {
      pos += 8;
    } else if (type === 5) {
      pos += 4;
    } else {
      throw new Error(`unexpected protobuf wire type ${type}`);
    }
    if (!fields.has(no)) fields.set(no, []);
    fields.get(no).push(value);
  }
  return fields;
}

/** The end of the range of keys that start with `prefix` (etcd's prefix range_end). */
export function prefixEnd(prefix) {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

// ---- client -------------------------------------------------------------------------------------

/** A gRPC message on the wire: no compression, 4-byte length, the message. */
function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/** Splits a gRPC byte stream into messages; `onMessage(message)` gets each complete one. */
function grpcDecoder(onMessage) {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5) {
      const len = pending.readUInt32BE(1);
      if (pending.length < 5 + len) break;
      onMessage(pending.subarray(5, 5 + len));
      pending = pending.subarray(5 + len);
    }
  };
}

const grpcHeaders = (path) => ({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });

/**
 * One HTTP/2 connection to one etcd member.
 * @param {string} endpoint host:port
 */
export function etcdClient(endpoint) {
  const session = http2.connect(`http://${endpoint}`);
  session.on('error', () => undefined); // a failed call rejects with its own error
  const unary = (path, message) =>
    new Promise((resolve, reject) => {
      const req = session.request(grpcHeaders(path));
      const chunks = [];
      let status;
      let text;
      const onStatus = (h) => {
        if (h['grpc-status'] === undefined) return;
        status = h['grpc-status'];
        text = h['grpc-message'];
      };
      req.on('response', onStatus); // a trailers-only answer carries its status in the headers
      req.on('trailers', onStatus);
      req.on('data', (d) => chunks.push(d));
      req.on('error', reject);
      req.on('end', () => {
        if (status !== '0') {
          reject(new Error(`${path}: grpc-status ${status ?? '(none)'} ${decodeURIComponent(text ?? '')}`));
          return;
        }
        const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        resolve(all.subarray(5, 5 + all.readUInt32BE(1)));
      });
      req.end(grpcFrame(message));
    });
  return {
    /** LeaseGrant; resolves the lease ID (bigint). */
    async grant(ttlSeconds) {
      const res = decodeFields(await unary('/etcdserverpb.Lease/LeaseGrant', varintField(1, ttlSeconds)));
      const id = res.get(2)?.[0];
      if (!id) throw new Error(`LeaseGrant: no lease ID (${res.get(4)?.[0]?.toString() ?? 'no error text'})`);
      return id;
    },
    /** Put `key` = `value`, attached to `lease` when given. */
    put(key, value, lease) {
      const parts = [bytesField(1, Buffer.from(key)), bytesField(2, Buffer.from(value))];
      if (lease) parts.push(varintField(3, lease));
      return unary('/etcdserverpb.KV/Put', Buffer.concat(parts));
    },
    /**
     * Range over the keys starting with `prefix` (linearizable unless `serializable`); resolves
     * the raw RangeResponse.
     */
    rangePrefix(prefix, { serializable = false } = {}) {
      const parts = [bytesField(1, Buffer.from(prefix)), bytesField(2, prefixEnd(prefix))];
      if (serializable) parts.push(varintField(7, 1));
      return unary('/etcdserverpb.KV/Range', Buffer.concat(parts));
    },
    /**
     * One Watch stream (the etcd clients put every watch of a client on one stream).
     * `onResponse(raw WatchResponse, at)` gets every response; `watchPrefix` adds a watcher.
     */
    watchStream(onResponse) {
      const req = session.request(grpcHeaders('/etcdserverpb.Watch/Watch'));
      req.on(
        'data',
        grpcDecoder((m) => onResponse(m, performance.now())),
      );
      req.on('error', () => undefined);
      return {
        watchPrefix: (prefix) => req.write(grpcFrame(bytesField(1, Buffer.concat([bytesField(1, Buffer.from(prefix)), bytesField(2, prefixEnd(prefix))])))),
        cancel: () => req.close(http2.constants.NGHTTP2_CANCEL),
      };
    },
    close: () => session.close(),
  };
}

/** The parts of a WatchResponse a benchmark needs: watch ID, created, number of events. */
export function decodeWatchResponse(buf) {
  const f = decodeFields(buf);
  return { watchId: Number(f.get(2)?.[0] ?? 0n), created: f.get(3)?.[0] === 1n, events: f.get(11)?.length ?? 0 };
}

/** Number of kvs in a raw RangeResponse. */
export const rangeCount = (buf) => decodeFields(buf).get(2)?.length ?? 0;
