// The client side of bench/fanout.mjs, run as its own (pinned) process and driven over IPC:
// parks W watchers on one piece of data, makes one write, and times the write's acknowledgement
// and each watcher's notification from the moment the write was sent, all on one clock.
//
// Beacon: W blocking queries `GET /v1/health/service/<svc>?index=N&wait=60s`, one per raw
// keep-alive TCP connection (parsing no more of the answer than status, length and index, so
// the client costs little per watcher); the write is `PUT /v1/catalog/register` of one
// instance of the service with a new Meta value.
// etcd: W watchers on one key over etcd's gRPC Watch API (@grpc/grpc-js, messages encoded by
// hand), spread over `connections` connections, one Watch stream each (1 = every watcher on
// one stream, as the etcd clients do for watches made with the same context); the write is a
// gRPC Put of that key.
//
// Messages in: { op: 'init', target, ... } | { op: 'round', watchers, round } | { op: 'close' }.
// Messages out: { ok: true, ... } or { error }.
import { createHash } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { HttpWatcher } from './http-watcher.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- Beacon -----------------------------------------------------------------------------------

function beaconTarget({ origin, service, node, address }) {
  const url = new URL(origin);
  const control = new Pool(origin, { connections: 2 });
  const watchers = [];
  const waiting = async () => {
    const res = await control.request({ method: 'GET', path: '/metrics' });
    const m = /^beacon_http_blocking_queries_waiting (\d+)/m.exec(await res.body.text());
    return m ? Number(m[1]) : NaN;
  };
  return {
    async round(w, round) {
      while (watchers.length < w) {
        const h = new HttpWatcher(url.hostname, Number(url.port));
        await h.ready;
        watchers.push(h);
      }
      const first = await control.request({ method: 'GET', path: `/v1/health/service/${service}` });
      await first.body.dump();
      const index = Number(first.headers['x-consul-index']);
      const answers = watchers.slice(0, w).map((h) => h.get(`/v1/health/service/${service}?index=${index}&wait=60s`));
      const deadline = Date.now() + 30_000;
      while ((await waiting()) < w) {
        if (Date.now() > deadline) throw new Error(`only ${await waiting()} of ${w} blocking queries parked after 30 s`);
        await sleep(20);
      }
      await sleep(200);
      const body = JSON.stringify({
        Node: node,
        Address: address,
        Service: {
          ID: `${service}-0`,
          Service: service,
          Port: 8080,
          Address: address,
          Tags: ['v2', 'primary'],
          Meta: { version: '2.4.1', round: String(round) },
        },
      });
      const t0 = performance.now();
      const res = await control.request({ method: 'PUT', path: '/v1/catalog/register', body, headers: { 'content-type': 'application/json' } });
      const ackAt = performance.now();
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`register: HTTP ${res.statusCode} ${text}`);
      const got = await Promise.all(answers);
      const hashes = new Set(got.map((a) => createHash('sha1').update(a.body).digest('hex')));
      const bad = got.filter((a) => a.status !== 200 || a.index <= index).length;
      if (bad > 0) throw new Error(`${bad} of ${w} watchers got a wrong answer (status or index)`);
      if (w > 0 && hashes.size !== 1) throw new Error(`watchers of one query got ${hashes.size} different bodies`);
      return { ackMs: ackAt - t0, latencies: got.map((a) => a.at - t0), bodyBytes: got[0]?.body.length ?? 0 };
    },
    async close() {
      for (const h of watchers) h.close();
      await control.close();
    },
  };
}

// ---- etcd -------------------------------------------------------------------------------------

function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
/** A length-delimited protobuf field. */
const field = (no, bytes) => Buffer.concat([varint((no << 3) | 2), varint(bytes.length), bytes]);

function readVarint(buf, pos) {
  let n = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    n += (b & 127) * mul;
    if (b < 128) return [n, pos];
    mul *= 128;
  }
}

/** The parts of a WatchResponse the bench needs: watch_id, created, number of events. */
function decodeWatchResponse(buf) {
  let pos = 0;
  let watchId = 0;
  let created = false;
  let events = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const no = key >>> 3;
    const type = key & 7;
    if (type === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (no === 2) watchId = v;
      else if (no === 3) created = v === 1;
    } else if (type === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      if (no === 11) events++;
      pos += len;
    } else if (type === 1) {
      pos += 8;
    } else if (type === 5) {
      pos += 4;
    } else {
      throw new Error(`unexpected protobuf wire type ${type}`);
    }
  }
  return { watchId, created, events };
}

function etcdTarget({ endpoint, key, value, connections }) {
  const options = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 64 << 20 };
  const writer = new grpc.Client(endpoint, grpc.credentials.createInsecure(), options);
  const pass = (b) => b;
  const keyBytes = Buffer.from(key);
  const streams = [];
  let watchers = 0;
  let created = 0;
  let onEvent;
  const streamFor = (i) => {
    if (streams[i]) return streams[i];
    const client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), options);
    const call = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', pass, decodeWatchResponse);
    call.on('data', (m) => {
      if (m.created) created++;
      if (m.events > 0) onEvent?.(i, m.watchId, performance.now());
    });
    call.on('error', () => undefined);
    streams[i] = { client, call };
    return streams[i];
  };
  const put = (val) =>
    new Promise((resolve, reject) => {
      writer.makeUnaryRequest('/etcdserverpb.KV/Put', pass, pass, Buffer.concat([field(1, keyBytes), field(2, Buffer.from(val))]), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  return {
    async round(w) {
      // Watchers on etcd stay; add what this round needs (rounds run with W ascending).
      for (; watchers < w; watchers++) streamFor(watchers % connections).call.write(field(1, field(1, keyBytes)));
      const deadline = Date.now() + 30_000;
      while (created < watchers) {
        if (Date.now() > deadline) throw new Error(`only ${created} of ${watchers} etcd watchers created after 30 s`);
        await sleep(20);
      }
      if (watchers > w) throw new Error('etcd rounds must come in ascending watcher counts');
      await sleep(200);
      const seen = new Map();
      let resolveAll;
      const all = new Promise((r) => (resolveAll = r));
      onEvent = (stream, id, at) => {
        const k = `${stream}:${id}`;
        if (!seen.has(k)) seen.set(k, at);
        if (seen.size === w) resolveAll();
      };
      if (w === 0) resolveAll();
      const t0 = performance.now();
      await put(value.replace('{round}', String(Math.random())));
      const ackAt = performance.now();
      await Promise.race([
        all,
        sleep(30_000).then(() => {
          throw new Error(`only ${seen.size} of ${w} etcd watchers notified after 30 s`);
        }),
      ]);
      onEvent = undefined;
      return { ackMs: ackAt - t0, latencies: [...seen.values()].map((at) => at - t0) };
    },
    async close() {
      for (const s of streams) {
        s.call.cancel();
        s.client.close();
      }
      writer.close();
    },
  };
}

// ---- IPC ----------------------------------------------------------------------------------------

let target;
process.on('message', async (msg) => {
  try {
    if (msg.op === 'init') {
      target = msg.target === 'beacon' ? beaconTarget(msg) : etcdTarget(msg);
      process.send({ ok: true });
    } else if (msg.op === 'round') {
      process.send({ ok: true, ...(await target.round(msg.watchers, msg.round)) });
    } else if (msg.op === 'close') {
      await target?.close();
      process.send({ ok: true });
      process.disconnect();
    }
  } catch (err) {
    process.send({ error: err?.stack ?? String(err) });
  }
});
