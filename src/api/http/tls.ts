/**
 * HTTPS for the HTTP API: the certificate and key (and the CA that signs client certificates,
 * when clients must present one) are read from files at start and again on SIGHUP, so a renewed
 * certificate is taken without a restart. A file that cannot be read or parsed stops the start
 * with its path; on reload it leaves the running certificate in place and the error is returned.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, RequestListener, ServerOptions, ServerResponse } from 'node:http';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { TlsConfig } from '../../config/index.js';
import { BeaconError } from '../../errors/index.js';

function read(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new BeaconError('BEACON_ERR_CONFIG', `cannot read ${field} ${path}: ${(err as Error).message}`, { field, cause: err });
  }
}

/** The certificate, key and CA of `tls`, read and checked (a bad PEM or a key that does not match fails here, naming the files). */
export function loadTlsFiles(tls: TlsConfig): SecureContextOptions {
  const opts: SecureContextOptions = { cert: read('tlsCert', tls.certFile), key: read('tlsKey', tls.keyFile) };
  if (tls.caFile !== null) opts.ca = read('tlsCa', tls.caFile);
  try {
    createSecureContext(opts);
  } catch (err) {
    throw new BeaconError(
      'BEACON_ERR_CONFIG',
      `cannot use the TLS files ${[tls.certFile, tls.keyFile, tls.caFile].filter(Boolean).join(', ')}: ${(err as Error).message}`,
      { field: 'tlsCert', cause: err },
    );
  }
  return opts;
}

/** An HTTPS server for the API with the given HTTP options; clients must present a certificate when `tls.verifyIncoming`. */
export function createTlsServer(
  tls: TlsConfig,
  httpOptions: ServerOptions,
  handler: RequestListener<typeof IncomingMessage, typeof ServerResponse>,
): HttpsServer {
  return createHttpsServer(
    { ...httpOptions, ...loadTlsFiles(tls), requestCert: tls.verifyIncoming, rejectUnauthorized: tls.verifyIncoming, minVersion: 'TLSv1.2' },
    handler,
  );
}

/** Reads the files again and uses them for new connections; throws (leaving the old ones) when they are bad. */
export function reloadTls(server: HttpsServer, tls: TlsConfig): void {
  const opts = loadTlsFiles(tls);
  server.setSecureContext({ ...opts, minVersion: 'TLSv1.2' });
}
