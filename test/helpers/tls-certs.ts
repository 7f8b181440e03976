/**
 * Certificates made with `openssl` for the TLS tests: a CA, server certificates for 127.0.0.1
 * and localhost (usable as client certificates too, as in a cluster), a client certificate, and
 * a certificate from another CA that nothing trusts. Written to a temp dir the caller removes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTool } from './tools.js';

export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** Another server certificate from the same CA (a renewal), with its own serial. */
  renewedCert: string;
  renewedKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
}

export function makeTestCerts(): TestCerts {
  const openssl = ensureTool('openssl', 'openssl');
  const dir = mkdtempSync(join(tmpdir(), 'beacon-tls-'));
  const p = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileSync(openssl, args, { stdio: 'pipe', timeout: 60_000 });
  const ca = (name: string) => {
    run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    );
  };
  const leaf = (name: string, caName: string, cn: string, ext: string) => {
    run(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
    );
    writeFileSync(p(`${name}.ext`), ext);
    run(
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p(`${caName}.pem`),
      '-CAkey',
      p(`${caName}.key`),
      '-CAcreateserial',
      '-out',
      p(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
    );
  };
  ca('ca');
  ca('stranger-ca');
  const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n';
  leaf('server', 'ca', 'beacon-server', serverExt);
  leaf('renewed', 'ca', 'beacon-server-renewed', serverExt);
  leaf('client', 'ca', 'beacon-client', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', 'stranger-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    renewedCert: p('renewed.pem'),
    renewedKey: p('renewed.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
  };
}
