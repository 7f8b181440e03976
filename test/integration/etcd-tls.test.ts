/**
 * The etcd driver over TLS (`etcd+https://`) against a real etcd member started with a
 * certificate and --client-cert-auth (certificates made by openssl): the store works with the CA
 * and a client certificate, is refused without the client certificate, and a Beacon server runs
 * on it with --store-ca/--store-cert/--store-key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBeaconError } from '../../src/errors/index.js';
import { openStore } from '../../src/store/index.js';
import { etcdBinary } from '../helpers/etcd-cluster.js';
import { startServer } from '../helpers/server.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { freePort } from '../helpers/tools.js';

let certs: TestCerts;
let etcd: ChildProcess;
let dataDir: string;
let url: string;
let output = '';

beforeAll(async () => {
  certs = makeTestCerts();
  dataDir = mkdtempSync(join(tmpdir(), 'beacon-etcd-tls-'));
  const [client, peer] = [await freePort(), await freePort()];
  url = `etcd+https://127.0.0.1:${client}`;
  etcd = spawn(
    etcdBinary(),
    [
      '--name',
      'tls1',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      `https://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `https://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `tls1=http://127.0.0.1:${peer}`,
      '--cert-file',
      certs.serverCert,
      '--key-file',
      certs.serverKey,
      '--trusted-ca-file',
      certs.caCert,
      '--client-cert-auth',
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  etcd.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  etcd.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  // Wait until it takes a TLS client (bounded).
  for (let i = 0; ; i++) {
    const store = await openStore(url, { tls: { caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey }, requestTimeoutMs: 2000 }).catch(
      () => undefined,
    );
    if (store) {
      await store.close();
      break;
    }
    if (i >= 60 || etcd.exitCode !== null) throw new Error(`etcd with TLS did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 90_000);

afterAll(() => {
  etcd?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

describe('etcd over TLS', () => {
  it('works with the CA and a client certificate, and is refused without the certificate', async () => {
    const store = await openStore(url, { tls: { caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey } });
    try {
      await store.put('tls/k', 'v');
      expect((await store.get('tls/k'))?.value).toBe('v');
    } finally {
      await store.close();
    }
    const refused = await openStore(url, { tls: { caFile: certs.caCert }, requestTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isBeaconError(refused, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
    expect((refused as Error).message).toContain(url.replace('etcd+https://', ''));
    const plain = await openStore(url.replace('etcd+https', 'etcd'), { requestTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isBeaconError(plain, 'BEACON_ERR_STORE_UNAVAILABLE')).toBe(true);
  });

  it('a Beacon server runs on it with --store-ca, --store-cert and --store-key', async () => {
    const server = await startServer({
      dnsAddr: 'off',
      args: ['--store', url, '--store-ca', certs.caCert, '--store-cert', certs.clientCert, '--store-key', certs.clientKey, '--session-ttl', '5s'],
      readyTimeoutMs: 60_000,
    });
    try {
      const put = await fetch(`${server.httpUrl}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'over-tls', Port: 443 }) });
      expect(put.status).toBe(200);
      const list = (await (await fetch(`${server.httpUrl}/v1/catalog/services`)).json()) as Record<string, unknown>;
      expect(Object.keys(list)).toContain('over-tls');
    } finally {
      await server.stop();
    }
  });
});
