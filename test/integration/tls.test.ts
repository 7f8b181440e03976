/**
 * The HTTP API over HTTPS, with certificates made by openssl: a client with the CA gets in and
 * one without it is refused; with --tls-verify-incoming a client without a certificate, or with
 * one from another CA, is refused at the handshake; the CLI (--ca-file, --client-cert) and the
 * SDK (`tls`) connect; SIGHUP takes renewed certificate files and keeps the running ones when the
 * new files are bad; unreadable files stop the start with their path.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeaconClient } from '../../src/client/index.js';
import { BEACON_BIN, REPO_ROOT, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';

let certs: TestCerts;
let plain: RunningServer; // HTTPS, any client
let mutual: RunningServer; // HTTPS, client certificates required
let liveCert: string;
let liveKey: string;
const agents: Agent[] = [];

const url = (s: RunningServer) => `https://127.0.0.1:${s.httpPort}`;
const agent = (connect: Record<string, unknown>) => {
  const a = new Agent({ connect: { timeout: 10_000, ...connect } });
  agents.push(a);
  return a;
};
const read = (path: string) => readFileSync(path);

async function get(s: RunningServer, path: string, dispatcher?: Agent): Promise<{ status: number; body: string }> {
  const res = await request(`${url(s)}${path}`, { ...(dispatcher ? { dispatcher } : {}) });
  return { status: res.statusCode, body: await res.body.text() };
}

/** The serial number of the certificate a new connection to `s` is shown. */
function servedSerial(s: RunningServer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port: s.httpPort, ca: read(certs.caCert), servername: 'localhost' }, () => {
      const serial = sock.getPeerCertificate().serialNumber;
      sock.end();
      resolve(serial);
    });
    sock.once('error', reject);
  });
}

function serialOf(pem: string): string {
  const out = spawnSync('openssl', ['x509', '-noout', '-serial', '-in', pem], { encoding: 'utf8' }).stdout;
  return out.replace(/^serial=/, '').trim();
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BEACON_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

beforeAll(async () => {
  certs = makeTestCerts();
  liveCert = join(certs.dir, 'live.pem');
  liveKey = join(certs.dir, 'live.key');
  copyFileSync(certs.serverCert, liveCert);
  copyFileSync(certs.serverKey, liveKey);
  [plain, mutual] = await Promise.all([
    startServer({ dnsAddr: 'off', args: ['--tls-cert', liveCert, '--tls-key', liveKey] }),
    startServer({ dnsAddr: 'off', args: ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-ca', certs.caCert, '--tls-verify-incoming'] }),
  ]);
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await Promise.all([plain?.stop(), mutual?.stop()]);
  rmSync(certs.dir, { recursive: true, force: true });
});

describe('HTTPS', () => {
  it('says so in the ready line, answers with the CA, and is refused without it', async () => {
    expect(plain.output()).toMatch(/beacon server ready http=127\.0\.0\.1:\d+ .* tls=on/);
    const ok = await get(plain, '/v1/status/leader', agent({ ca: read(certs.caCert) }));
    expect(ok.status).toBe(200);
    const refused = await get(plain, '/v1/status/leader', agent({})).catch((e: Error & { code?: string }) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as { code?: string }).code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    // Plain HTTP to the HTTPS port gets no answer.
    const http = await request(`http://127.0.0.1:${plain.httpPort}/v1/status/leader`).catch((e: Error) => e);
    expect(http).toBeInstanceOf(Error);
  });

  it('with --tls-verify-incoming refuses clients without a certificate or with one from another CA, and serves one with ours', async () => {
    const ca = read(certs.caCert);
    const none = await get(mutual, '/v1/status/leader', agent({ ca })).catch((e: Error) => e);
    expect(none).toBeInstanceOf(Error);
    const stranger = await get(mutual, '/v1/status/leader', agent({ ca, cert: read(certs.strangerCert), key: read(certs.strangerKey) })).catch((e: Error) => e);
    expect(stranger).toBeInstanceOf(Error);
    const client = agent({ ca, cert: read(certs.clientCert), key: read(certs.clientKey) });
    expect((await get(mutual, '/v1/status/leader', client)).status).toBe(200);
    const metrics = (await get(mutual, '/metrics', client)).body;
    const failed = Number(/^beacon_http_tls_handshake_errors_total (\d+)/m.exec(metrics)?.[1] ?? 'NaN');
    expect(failed).toBeGreaterThanOrEqual(2);
  });

  it('the CLI connects with --ca-file (or $BEACON_CACERT) and a client certificate, and says what failed without them', async () => {
    const ok = await cli(['members', '--http-addr', url(plain), '--ca-file', certs.caCert]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/test-node/);
    const env = await cli(['members', '--http-addr', url(plain)], { BEACON_CACERT: certs.caCert });
    expect(env.code).toBe(0);
    const noCa = await cli(['members', '--http-addr', url(plain)]);
    expect(noCa.code).toBe(1);
    expect(noCa.err).toMatch(/^beacon: error listing members: cannot reach https:\/\/127\.0\.0\.1:\d+: .*certificate/);
    expect(noCa.err.trim().split('\n')).toHaveLength(1);
    const mtls = await cli([
      'members',
      '--http-addr',
      url(mutual),
      '--ca-file',
      certs.caCert,
      '--client-cert',
      certs.clientCert,
      '--client-key',
      certs.clientKey,
    ]);
    expect(mtls.code).toBe(0);
    const half = await cli(['members', '--http-addr', url(mutual), '--ca-file', certs.caCert, '--client-cert', certs.clientCert]);
    expect(half.code).toBe(2);
    expect(half.err).toMatch(/a client certificate needs both --client-cert and --client-key/);
    const missing = await cli(['members', '--http-addr', url(plain), '--ca-file', join(certs.dir, 'nope.pem')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/invalid --ca-file ".*nope\.pem": ENOENT/);
  });

  it('the SDK registers and discovers over mutual TLS with its tls option', async () => {
    const beacon = new BeaconClient({
      servers: [url(mutual)],
      tls: { ca: read(certs.caCert), cert: read(certs.clientCert), key: read(certs.clientKey) },
      deregisterOnSignals: false,
    });
    try {
      await beacon.register({ name: 'secure', id: 'secure-1', address: '127.0.0.1', port: 7001 });
      const snap = await beacon.discover('secure');
      expect(snap.instances.map((i) => i.id)).toEqual(['secure-1']);
    } finally {
      await beacon.close();
    }
    expect(() => new BeaconClient({ tls: { ca: 'x', cert: 'y' } })).toThrow(/tls.cert and tls.key go together/);
    expect(() => new BeaconClient({ tls: { cafile: 'x' } as never })).toThrow(/tls.cafile is not an option/);
  });

  it('the gateway discovers through an HTTPS server with --ca-file, and without it says what failed', async () => {
    const upstream = createServer((_req, res) => res.end('hello over tls discovery'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    const reg = await request(`${url(plain)}/v1/agent/service/register`, {
      method: 'PUT',
      dispatcher: agent({ ca: read(certs.caCert) }),
      body: JSON.stringify({ Name: 'tlsweb', Address: '127.0.0.1', Port: port }),
    });
    expect(reg.statusCode).toBe(200);
    await reg.body.dump();
    const gw = spawn(process.execPath, [BEACON_BIN, 'gateway', '--listen', '127.0.0.1:0', '--server', url(plain), '--ca-file', certs.caCert], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    gw.stdout.on('data', (d: Buffer) => (out += d.toString()));
    gw.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      let listen = '';
      for (let i = 0; i < 120 && !listen; i++) {
        listen = /listen=(\S+)/.exec(out)?.[1] ?? '';
        if (!listen) await new Promise((r) => setTimeout(r, 250));
      }
      expect(listen, out).not.toBe('');
      let body = '';
      for (let i = 0; i < 40 && body !== 'hello over tls discovery'; i++) {
        const res = await request(`http://${listen}/`, { headers: { host: 'tlsweb.service.consul' } });
        body = await res.body.text();
        if (body !== 'hello over tls discovery') await new Promise((r) => setTimeout(r, 250));
      }
      expect(body).toBe('hello over tls discovery');
    } finally {
      gw.kill('SIGTERM');
      upstream.close();
    }
    const half = spawnSync(process.execPath, [BEACON_BIN, 'gateway', '--listen', '127.0.0.1:0', '--server', url(plain), '--client-cert', certs.clientCert], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(half.status).toBe(2);
    expect(half.stderr).toMatch(/a client certificate needs both --client-cert and --client-key/);
  });

  it('federated datacenters with mutual TLS exchange and forward over https, presenting their certificates', async () => {
    const tlsArgs = [
      '--tls-cert',
      certs.serverCert,
      '--tls-key',
      certs.serverKey,
      '--tls-ca',
      certs.caCert,
      '--tls-verify-incoming',
      '--wan-interval',
      '300ms',
    ];
    const dc2 = await startServer({ dnsAddr: 'off', args: ['--datacenter', 'dc2', ...tlsArgs, '--join-wan', url(mutual)] });
    try {
      const client = agent({ ca: read(certs.caCert), cert: read(certs.clientCert), key: read(certs.clientKey) });
      const reg = await request(`${url(dc2)}/v1/agent/service/register`, {
        method: 'PUT',
        dispatcher: client,
        body: JSON.stringify({ Name: 'remote', Port: 9 }),
      });
      expect(reg.statusCode).toBe(200);
      await reg.body.dump();
      let dcs: string[] = [];
      for (let i = 0; i < 80 && !dcs.includes('dc2'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        dcs = JSON.parse((await get(mutual, '/v1/catalog/datacenters', client)).body) as string[];
      }
      expect(dcs.sort()).toEqual(['dc1', 'dc2']);
      const forwarded = await get(mutual, '/v1/catalog/service/remote?dc=dc2', client);
      expect(forwarded.status).toBe(200);
      expect((JSON.parse(forwarded.body) as { ServiceName: string }[]).map((x) => x.ServiceName)).toEqual(['remote']);
    } finally {
      await dc2.stop();
    }
  });

  it('an agent joins a mutual-TLS server over wss:// with its certificate, syncs, and passes other requests (the web UI) on over https', async () => {
    const dir = tempDir();
    const proc = spawn(
      process.execPath,
      [
        BEACON_BIN,
        'agent',
        '--server',
        url(mutual),
        '--http-addr',
        '127.0.0.1:0',
        '--dns-addr',
        'off',
        '--data-dir',
        dir,
        '--node',
        'tls-agent',
        '--ca-file',
        certs.caCert,
        '--client-cert',
        certs.clientCert,
        '--client-key',
        certs.clientKey,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      let agentUrl = '';
      for (let i = 0; i < 120 && !agentUrl; i++) {
        const m = /beacon agent ready http=(\S+)/.exec(out);
        if (m) agentUrl = `http://${m[1]}`;
        else await new Promise((r) => setTimeout(r, 250));
      }
      expect(agentUrl, out).not.toBe('');
      const reg = await fetch(`${agentUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'agent-tls', Port: 7443 }) });
      expect(reg.status).toBe(200);
      const client = agent({ ca: read(certs.caCert), cert: read(certs.clientCert), key: read(certs.clientKey) });
      let names: string[] = [];
      for (let i = 0; i < 80 && !names.includes('agent-tls'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        names = Object.keys(JSON.parse((await get(mutual, '/v1/catalog/services', client)).body) as object);
      }
      expect(names).toContain('agent-tls');
      const ui = await fetch(`${agentUrl}/ui/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toMatch(/<html/i);
    } finally {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGHUP takes renewed certificate files for new connections, and keeps the running ones when the new files are bad', async () => {
    expect(await servedSerial(plain)).toBe(serialOf(certs.serverCert));
    copyFileSync(certs.renewedCert, liveCert);
    copyFileSync(certs.renewedKey, liveKey);
    plain.proc.kill('SIGHUP');
    const renewed = serialOf(certs.renewedCert);
    let serial = '';
    for (let i = 0; i < 80 && serial !== renewed; i++) {
      await new Promise((r) => setTimeout(r, 250));
      serial = await servedSerial(plain);
    }
    expect(serial).toBe(renewed);

    writeFileSync(liveCert, 'not a certificate');
    plain.proc.kill('SIGHUP');
    for (let i = 0; i < 80 && !/kept the running TLS certificate/.test(plain.output()); i++) await new Promise((r) => setTimeout(r, 250));
    expect(plain.output()).toMatch(/beacon: SIGHUP: kept the running TLS certificate: cannot use the TLS files .*live\.pem/);
    expect(await servedSerial(plain)).toBe(renewed);
    expect((await get(plain, '/v1/status/leader', agent({ ca: read(certs.caCert) }))).status).toBe(200);
  });

  it('a certificate file that cannot be read stops the start, naming it', () => {
    const dir = tempDir();
    try {
      const r = spawnSync(
        process.execPath,
        [
          BEACON_BIN,
          'server',
          '--data-dir',
          dir,
          '--http-addr',
          '127.0.0.1:0',
          '--dns-addr',
          'off',
          '--tls-cert',
          join(certs.dir, 'missing.pem'),
          '--tls-key',
          certs.serverKey,
        ],
        { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^beacon: cannot read tlsCert .*missing\.pem: ENOENT/m);
      const mismatch = spawnSync(
        process.execPath,
        [
          BEACON_BIN,
          'server',
          '--data-dir',
          dir,
          '--http-addr',
          '127.0.0.1:0',
          '--dns-addr',
          'off',
          '--tls-cert',
          certs.serverCert,
          '--tls-key',
          certs.clientKey,
        ],
        { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 },
      );
      expect(mismatch.status).toBe(1);
      expect(mismatch.stderr).toMatch(/^beacon: cannot use the TLS files .*server\.pem, .*client\.key: .*key values mismatch/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
