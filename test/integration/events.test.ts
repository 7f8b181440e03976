/**
 * The event history and stream against a real server process: every kind of event from real
 * changes, flapping, resume by revision, a gap on an old revision, server-sent events,
 * validation, the file log, and the webhook sink against a real receiver that fails for a while
 * (nothing lost, order kept per key) and across a restart (what it could not deliver is kept).
 * Then a server whose sink never answers takes registrations all the same.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/index.js';
import type { BeaconEvent } from '../../src/events/index.js';
import { runServer, type RunningServer as InProcessServer } from '../../src/server/index.js';
import { eventKey, readEvents, Receiver, waitFor } from '../helpers/events.js';
import { BEACON_BIN, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { ensureTool } from '../helpers/tools.js';

const ensurePython = () => ensureTool('python3', 'python3');

const put = async (base: string, path: string, body?: unknown): Promise<Response> => {
  const res = await fetch(`${base}${path}`, { method: 'PUT', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status}`);
  return res;
};

const metric = async (base: string, name: string): Promise<number> => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : NaN;
};

describe('event stream on a real server', () => {
  const receiver = new Receiver();
  const dataDir = tempDir('beacon-events-');
  const logFile = join(dataDir, 'events.jsonl');
  let server: RunningServer;
  let base: string;
  let sinkUrl: string;

  const start = async (httpAddr?: string) => {
    server = await startServer({
      dataDir,
      dnsAddr: 'off',
      ...(httpAddr ? { httpAddr } : {}),
      args: ['--event-sink', sinkUrl, '--event-log', logFile, '--event-history', '150', '--log-level', 'info'],
    });
    base = server.httpUrl;
  };

  beforeAll(async () => {
    sinkUrl = await receiver.start();
    await start();
  }, 60_000);

  afterAll(async () => {
    await server?.stop({ keepData: true });
    await receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('derives every kind of event from real changes, with revision, time, datacenter, node, service, instance and check', async () => {
    await put(base, '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 80, Check: { TTL: '60s' } });
    await put(base, '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 81, Check: { TTL: '60s' } });
    await put(base, '/v1/agent/check/pass/service:web1?note=fine');
    await put(base, '/v1/agent/check/fail/service:web1?note=down');
    await put(base, '/v1/agent/service/maintenance/web1?enable=true&reason=deploy');
    await put(base, '/v1/agent/service/maintenance/web1?enable=false');
    await put(base, '/v1/agent/maintenance?enable=true&reason=kernel');
    await put(base, '/v1/agent/maintenance?enable=false');
    const serf = (Status: string) => ({ Node: 'ext1', CheckID: 'serfHealth', Name: 'Serf Health Status', Status });
    await put(base, '/v1/catalog/register', { Node: 'ext1', Address: '10.1.1.1', Check: serf('passing') });
    await put(base, '/v1/catalog/register', { Node: 'ext1', Address: '10.1.1.1', Check: serf('critical') });
    await put(base, '/v1/catalog/deregister', { Node: 'ext1' });
    await put(base, '/v1/agent/service/deregister/web1');

    const events = await readEvents(base);
    const kinds = new Set(events.map((e) => e.kind));
    for (const k of [
      'node-registered',
      'service-registered',
      'service-updated',
      'check-status',
      'maintenance-on',
      'maintenance-off',
      'node-liveness',
      'node-deregistered',
      'service-deregistered',
    ])
      expect(kinds, k).toContain(k);
    const fail = events.find((e) => e.kind === 'check-status' && e.to === 'critical' && e.instance === 'web1')!;
    expect(fail).toMatchObject({
      datacenter: 'dc1',
      node: 'test-node',
      service: 'web',
      instance: 'web1',
      check: 'service:web1',
      from: 'passing',
      output: 'down',
    });
    expect(fail.revision).toBeGreaterThan(0);
    expect(fail.time).toBeGreaterThan(Date.now() - 600_000);
    expect(events.find((e) => e.kind === 'node-liveness')).toMatchObject({ node: 'ext1', from: 'passing', to: 'critical', check: 'serfHealth' });
    expect(events.find((e) => e.kind === 'maintenance-on' && e.instance === 'web1')).toMatchObject({ reason: 'deploy', service: 'web' });
    expect(events.find((e) => e.kind === 'maintenance-on' && e.instance === undefined)).toMatchObject({ reason: 'kernel', node: 'test-node' });
    // In revision order.
    for (let i = 1; i < events.length; i++) expect(events[i].revision).toBeGreaterThanOrEqual(events[i - 1].revision);
    // Filters.
    const onlyWeb = await readEvents(base, 'service=web&kind=check-status,service-updated');
    expect(onlyWeb.length).toBeGreaterThan(0);
    expect(onlyWeb.every((e) => e.service === 'web' && (e.kind === 'check-status' || e.kind === 'service-updated'))).toBe(true);
    expect((await readEvents(base, 'node=ext1')).every((e) => e.node === 'ext1')).toBe(true);
  });

  it('marks a check flapping and counts transitions per service in /metrics', async () => {
    await put(base, '/v1/agent/service/register', { Name: 'flappy', ID: 'flappy1', Port: 81, Check: { TTL: '60s' } });
    for (let i = 0; i < 4; i++) {
      await put(base, '/v1/agent/check/pass/service:flappy1');
      await put(base, '/v1/agent/check/fail/service:flappy1');
    }
    const t = (await readEvents(base, 'service=flappy&kind=check-status')).filter((e) => e.instance === 'flappy1');
    expect(t).toHaveLength(8);
    expect(t.slice(0, 4).some((e) => e.flapping)).toBe(false);
    expect(t.at(-1)!.flapping).toBe(true);
    expect(await metric(base, 'beacon_events_check_transitions_total{service="flappy",to="critical"}')).toBe(4);
    expect(await metric(base, 'beacon_events_flapping_total')).toBeGreaterThanOrEqual(4);
  });

  it('resumes from a revision, and streams server-sent events with the revision as id and Last-Event-ID resume', async () => {
    const all = await readEvents(base);
    const mid = all[Math.floor(all.length / 2)].revision;
    const after = await readEvents(base, `since=${mid}`);
    expect(after.map(eventKey)).toEqual(all.filter((e) => e.revision > mid).map(eventKey));

    // Live SSE: a change made after connecting arrives on the open stream.
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/beacon/events?since=${all.at(-1)!.revision}`, { headers: { accept: 'text/event-stream' }, signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const reader = (res.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    await put(base, '/v1/agent/service/register', { Name: 'live', ID: 'live1', Port: 82 });
    let text = '';
    await waitFor('the live event', async () => {
      const chunk = await reader.next();
      if (chunk.done === true) throw new Error('stream ended');
      text += Buffer.from(chunk.value).toString();
      return text.includes('"live1"') ? true : undefined;
    });
    ac.abort();
    const frames = text.split('\n\n').filter((f) => f.includes('data: '));
    const frame = frames.find((f) => f.includes('"live1"'))!;
    const id = Number(/^id: (\d+)$/m.exec(frame)![1]);
    const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]) as BeaconEvent;
    expect(data).toMatchObject({ kind: 'service-registered', instance: 'live1', revision: id });
    expect(text.startsWith('retry: ')).toBe(true);

    // Last-Event-ID: everything after that revision, nothing before; it wins over the URL's since
    // (a reconnecting EventSource sends the URL it started with).
    const resumed = await fetch(`${base}/v1/beacon/events?follow=false&since=0`, { headers: { accept: 'text/event-stream', 'last-event-id': String(id - 1) } });
    const ids = [...(await resumed.text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids[0]).toBe(id);
    expect(ids.every((i) => i >= id)).toBe(true);
  });

  it('answers a bad parameter with a JSON error naming it, and changes nothing', async () => {
    for (const [q, field] of [
      ['since=-1', 'since'],
      ['since=abc', 'since'],
      ['since=99999999999999999999', 'since'],
      ['kind=nope', 'kind'],
      ['kind=check-status,', 'kind'],
      ['service=', 'service'],
      ['node=a&node=b', 'node'],
      ['follow=perhaps', 'follow'],
      ['color=red', 'color'],
      ['dc=elsewhere', 'dc'],
    ]) {
      const res = await fetch(`${base}/v1/beacon/events?${q}`);
      expect(res.status, q).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('content-type'), q).toMatch(/^application\/json/);
      const body = (await res.json()) as { code: string; message: string; field: string };
      expect(body.field, q).toBe(field);
      expect(body.message.length, q).toBeGreaterThan(0);
    }
    const res = await fetch(`${base}/v1/beacon/events?follow=false`, { headers: { 'last-event-id': 'x1' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe('Last-Event-ID');
  });

  it('posts every event to the webhook at least once and in order per key while the receiver fails for a while, and logs them to the file', async () => {
    receiver.mode = 'fail';
    await put(base, '/v1/agent/service/register', { Name: 'during', ID: 'during1', Port: 83, Check: { TTL: '60s' } });
    await waitFor('a refused delivery', () => (receiver.requests > 0 ? true : undefined));
    receiver.mode = 'reset';
    await put(base, '/v1/agent/check/pass/service:during1');
    const failedBefore = receiver.requests;
    await waitFor('a reset delivery', () => (receiver.requests > failedBefore ? true : undefined));
    expect(await metric(base, 'beacon_events_sink_lag_events{sink="webhook"}')).toBeGreaterThan(0);
    receiver.mode = 'ok';
    const held = await readEvents(base);
    const got = await waitFor('every event delivered', () => {
      const keys = new Set(receiver.events.map(eventKey));
      return held.every((e) => keys.has(eventKey(e))) ? receiver.events : undefined;
    });
    // Order per key (instance or node): revisions never go back in first deliveries.
    const seen = new Set<string>();
    const lastRev = new Map<string, number>();
    for (const e of got) {
      if (seen.has(eventKey(e))) continue;
      seen.add(eventKey(e));
      const k = `${e.node ?? ''}/${e.instance ?? ''}`;
      expect(e.revision).toBeGreaterThanOrEqual(lastRev.get(k) ?? 0);
      lastRev.set(k, e.revision);
    }
    expect(await waitFor('lag 0', async () => ((await metric(base, 'beacon_events_sink_lag_events{sink="webhook"}')) === 0 ? true : undefined))).toBe(true);
    const logged = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as BeaconEvent);
    expect(logged.map(eventKey)).toEqual(held.filter((e) => e.kind !== 'gap').map(eventKey));
  });

  it('keeps what the sink could not deliver across a restart and delivers it first', async () => {
    receiver.mode = 'fail';
    await put(base, '/v1/agent/service/register', { Name: 'outage', ID: 'outage1', Port: 84 });
    const outage = (await readEvents(base, 'service=outage'))[0];
    const refused = receiver.requests;
    await waitFor('a refused delivery', () => (receiver.requests > refused ? true : undefined));
    // A `beacon events --follow` that lives through the restart: it reconnects and goes on.
    const addr = `${server.httpHost}:${server.httpPort}`;
    const follow = spawn(process.execPath, [BEACON_BIN, 'events', '--follow', '--kind', 'service-registered', '--http-addr', addr]);
    let followed = '';
    let notes = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    follow.stderr.on('data', (d: Buffer) => (notes += d.toString()));
    const followExit = new Promise<number | null>((r) => follow.once('exit', r));
    await waitFor('the follower to print the history', () => (followed.includes('outage/outage1') ? true : undefined));
    // A stream open during shutdown does not hold it up or fail it.
    expect(await server.stop({ keepData: true })).toBe(0);
    const stopped = server.output();
    receiver.mode = 'ok';
    await start(addr);
    await waitFor('the event from before the restart', () => (receiver.events.some((e) => eventKey(e) === eventKey(outage)) ? true : undefined));
    await put(base, '/v1/agent/service/register', { Name: 'after', ID: 'after1', Port: 85 });
    await waitFor('an event after the restart', () => (receiver.events.some((e) => e.instance === 'after1') ? true : undefined));
    const i = receiver.events.findIndex((e) => eventKey(e) === eventKey(outage));
    const j = receiver.events.findIndex((e) => e.instance === 'after1');
    expect(i).toBeLessThan(j);
    expect(stopped).toMatch(/event sink stopped with events not delivered/);
    await waitFor('the follower to print an event after the restart', () => (followed.includes('after/after1') ? true : undefined));
    follow.kill('SIGINT');
    expect(await followExit).toBe(0);
    expect(notes).toMatch(/beacon: .*(reconnecting|retrying)/);
    expect(followed.split('\n').filter((l) => l.includes('after/after1'))).toHaveLength(1);
    // Nothing happened while it was down: no gap is reported.
    expect(receiver.events.filter((e) => e.kind === 'gap')).toEqual([]);
  });

  it('beacon events prints the history, follows new events, and refuses bad flags with exit 2', async () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BEACON_BIN, 'events', '--http-addr', `${server.httpHost}:${server.httpPort}`, ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    await put(base, '/v1/agent/service/register', { Name: 'clisvc', ID: 'clisvc1', Port: 87, Check: { TTL: '60s' } });
    await put(base, '/v1/agent/check/pass/service:clisvc1');
    await put(base, '/v1/agent/check/fail/service:clisvc1?note=down');
    const readable = cli('--service', 'clisvc', '--kind', 'check-status');
    expect(readable.status).toBe(0);
    expect(readable.stdout).toMatch(/check-status {2}clisvc\/clisvc1 on test-node {2}service:clisvc1 passing -> critical "down"/);
    const json = cli('--service', 'clisvc', '--json');
    const lines = json.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.every((l) => (JSON.parse(l) as BeaconEvent).service === 'clisvc')).toBe(true);
    const bad = cli('--kind', 'nope');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli('--since', 'yesterday').status).toBe(2);

    const follow = spawn(process.execPath, [BEACON_BIN, 'events', '--follow', '--service', 'followed', '--http-addr', `${server.httpHost}:${server.httpPort}`]);
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => follow.once('exit', r));
    try {
      await put(base, '/v1/agent/service/register', { Name: 'followed', ID: 'followed1', Port: 86 });
      await waitFor('the followed event', () => (out.includes('service-registered  followed/followed1') ? true : undefined));
    } finally {
      follow.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('drops a reader that stops reading, with a last line saying where to resume, and counts it', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `noisy${i}`);
    for (const ID of ids) await put(base, '/v1/agent/service/register', { Name: 'noisy', ID, Port: 88, Check: { TTL: '60s' } });
    // A reader that does not read, with a small receive buffer (so the kernel does not hold
    // megabytes for it): python3, which can set SO_RCVBUF before connecting. It reads everything
    // once told to on stdin, and prints the last line.
    const reader = spawn(ensurePython(), [
      '-c',
      [
        'import socket, sys',
        's = socket.socket()',
        's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)',
        `s.connect(("${server.httpHost}", ${server.httpPort}))`,
        's.sendall(b"GET /v1/beacon/events?service=noisy HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")',
        'print("connected", flush=True)',
        'sys.stdin.readline()',
        'data = b""',
        'while True:',
        '    chunk = s.recv(65536)',
        '    if not chunk: break',
        '    data += chunk',
        'lines = [l for l in data.split(b"\\n") if l.startswith(b"{")]',
        'print(lines[-1].decode(), flush=True)',
      ].join('\n'),
    ]);
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => reader.once('exit', r));
    try {
      await waitFor('the reader to connect', () => (out.includes('connected') ? true : undefined));
      await waitFor('the stream to open', async () => ((await metric(base, 'beacon_events_followers ')) >= 1 ? true : undefined));
      const note = encodeURIComponent('x'.repeat(3500));
      const droppedBefore = (await metric(base, 'beacon_events_followers_dropped_total')) || 0;
      let dropped = droppedBefore;
      let puts = 0;
      // Status flips of 16 checks at once, each event carrying 3.5 KB of output.
      for (; puts < 4000 && dropped === droppedBefore; puts += ids.length * 2) {
        await Promise.all(
          ids.map(async (id) => {
            await put(base, `/v1/agent/check/fail/service:${id}?note=${note}`);
            await put(base, `/v1/agent/check/pass/service:${id}?note=${note}`);
          }),
        );
        dropped = (await metric(base, 'beacon_events_followers_dropped_total')) || 0;
      }
      console.log(`slow reader dropped after ${puts} status writes`);
      expect(dropped).toBe(droppedBefore + 1);
      // Registrations went on all the while, and the server holds no stream for it now.
      expect(await metric(base, 'beacon_events_followers ')).toBe(0);
      reader.stdin.end('read\n');
      expect(await exited).toBe(0);
      const line = JSON.parse(out.trim().split('\n').at(-1)!) as { code: string; resumeAfter: number };
      expect(line.code).toBe('BEACON_ERR_SLOW_CONSUMER');
      expect(line.resumeAfter).toBeGreaterThan(0);
    } finally {
      reader.kill('SIGKILL');
    }
  });

  it('answers a gap event when asked from a revision older than the history holds, then continues', async () => {
    for (let i = 0; i < 160; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, k) => put(base, '/v1/agent/service/register', { Name: 'bulk', ID: `bulk${i + k}`, Port: 1000 + i + k })),
      );
    }
    const lines = await readEvents(base, 'since=1');
    expect(lines[0].kind).toBe('gap');
    expect(lines[0].after).toBe(1);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[1].revision).toBeGreaterThan(lines[0].revision);
    expect(await metric(base, 'beacon_events_history_events')).toBeLessThanOrEqual(150);
  });
});

describe('a sink that never answers', () => {
  let server: InProcessServer;
  let blackHole: TcpServer;
  const sockets = new Set<Socket>();
  const dataDir = tempDir('beacon-events-stalled-');

  beforeAll(async () => {
    blackHole = createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    const port = (blackHole.address() as { port: number }).port;
    server = await runServer(
      buildConfig({ httpAddr: '127.0.0.1:0', dnsAddr: 'off', dataDir, node: 'stalled', logLevel: 'silent', eventSink: `http://127.0.0.1:${port}/` }),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => blackHole?.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('does not hold up registrations: every one is acknowledged while the sink lags', async () => {
    const base = `http://127.0.0.1:${server.http.port}`;
    for (let i = 0; i < 200; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, k) => put(base, '/v1/agent/service/register', { Name: 'stall', ID: `s${i + k}`, Port: 2000 + i + k })));
    }
    const listed = (await (await fetch(`${base}/v1/health/service/stall`)).json()) as unknown[];
    expect(listed).toHaveLength(200);
    expect(sockets.size).toBeGreaterThan(0);
    expect(await metric(base, 'beacon_events_sink_lag_events{sink="webhook"}')).toBeGreaterThanOrEqual(200);
    expect(await metric(base, 'beacon_events_sink_events{sink="webhook",result="delivered"}')).toBe(0);
  });
});

describe('event flags the server cannot use', () => {
  it.each([
    [['--event-log', '/nonexistent-dir/events.jsonl'], /^beacon: cannot open the event log \/nonexistent-dir\/events\.jsonl: ENOENT/],
    [['--event-sink', 'ftp://collector/'], /^beacon: invalid eventSink: "ftp:\/\/collector\/" is not an http/],
    [['--event-history', '10'], /^beacon: invalid eventHistory: "10" must be an integer from 100/],
    [['--event-history-age', '5s'], /^beacon: invalid eventHistoryAge/],
  ])('%j stops the start with one line and exit 1', (args, message) => {
    const dir = tempDir('beacon-events-flags-');
    try {
      const r = spawnSync(
        process.execPath,
        [BEACON_BIN, 'server', '--http-addr', '127.0.0.1:0', '--dns-addr', 'off', '--data-dir', dir, '--log-level', 'error', ...args],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
