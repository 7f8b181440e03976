import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { BeaconError } from '../errors/index.js';
import { EmbeddedStore } from './embedded/index.js';
import { EtcdStore, etcdUsesTls, isEtcdUrl, parseEtcdUrl, type EtcdTls } from './etcd/index.js';
import type { StoreLogger } from './logger.js';
import { namespaced, namespacePrefixProblem } from './namespace.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** Data directory for `url` 'embedded' (the database is `<dataDir>/beacon.db`). */
  dataDir?: string;
  logger?: StoreLogger;
  /** Embedded driver: revisions kept in memory for watch replay (default 10,000, at least 100). */
  historyRevisions?: number;
  /**
   * Keep every key under this prefix (a non-empty string ending in '/', no control characters),
   * so several Beacon clusters or test runs can share one store. Keys are read and written
   * without it; revisions and leases stay the store's own. See {@link namespaced}.
   */
  prefix?: string;
  /**
   * Embedded driver: start even though the start-up checks find damage, with what is readable,
   * logging what was lost (`beacon server --recover`). Default false: damage refuses the start
   * with BEACON_ERR_STORE_CORRUPT naming the file and what was found.
   */
  recover?: boolean;
  /**
   * etcd driver: the longest one store call may take, retries included, before it fails with
   * BEACON_ERR_STORE_UNAVAILABLE (default 5000 ms, at least 500).
   */
  requestTimeoutMs?: number;
  /**
   * etcd driver over `etcd+https://`: files of the CA that signs the members' certificates
   * (default: Node's roots) and of a client certificate and key, for members started with
   * --client-cert-auth. Read when the store opens; an unreadable one fails with
   * BEACON_ERR_CONFIG naming it. Refused for any other store URL.
   */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/**
 * Opens the store a URL names:
 * - `embedded` — the embedded driver in `opts.dataDir`;
 * - `embedded:///absolute/dir` — the embedded driver in that directory;
 * - `etcd://host:port[,host:port…]` — the etcd driver on the cluster of those members
 *   (`etcd+https://…` over TLS, with `opts.tls`).
 *
 * With `opts.prefix` the store comes back as a namespaced view that owns the store: closing it
 * closes the store.
 *
 * Fails with BEACON_ERR_CONFIG for a URL or prefix it cannot use (before touching anything),
 * BEACON_ERR_STARTUP (naming the path) when the store cannot be opened,
 * BEACON_ERR_STORE_CORRUPT when its data is damaged and `opts.recover` is not set, and
 * BEACON_ERR_STORE_UNAVAILABLE (naming the endpoints) when no etcd quorum answers in time.
 *
 * @example
 * const store = await openStore('embedded', { dataDir: './data' });
 * const shared = await openStore('embedded:///var/lib/beacon', { prefix: 'beacon/dc1/' });
 * const cluster = await openStore('etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379', { prefix: 'beacon/dc1/' });
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const endpoints = isEtcdUrl(url) ? parseEtcdUrl(url) : undefined;
  const dataDir = endpoints === undefined ? embeddedDir(url, opts.dataDir) : undefined;
  if (opts.prefix !== undefined) {
    const problem = namespacePrefixProblem(opts.prefix);
    if (problem !== undefined) {
      throw new BeaconError('BEACON_ERR_CONFIG', `store-prefix ${JSON.stringify(opts.prefix)} ${problem}`, { field: 'store-prefix' });
    }
  }
  const tls = etcdTls(url, opts.tls);
  const store =
    endpoints !== undefined
      ? await EtcdStore.open({ endpoints, logger: opts.logger, requestTimeoutMs: opts.requestTimeoutMs, ...(tls ? { tls } : {}) })
      : await EmbeddedStore.open({ dataDir: dataDir!, logger: opts.logger, historyRevisions: opts.historyRevisions, recover: opts.recover });
  return opts.prefix === undefined ? store : namespaced(store, opts.prefix, { closeStore: true });
}

function etcdTls(url: string, files: OpenStoreOptions['tls']): EtcdTls | undefined {
  const given = files !== undefined && Object.values(files).some((v) => v !== undefined);
  if (!etcdUsesTls(url)) {
    if (given)
      throw new BeaconError('BEACON_ERR_CONFIG', 'the store TLS files (--store-ca, --store-cert, --store-key) need an etcd+https:// store URL', {
        field: 'store',
      });
    return undefined;
  }
  if ((files?.certFile === undefined) !== (files?.keyFile === undefined)) {
    throw new BeaconError('BEACON_ERR_CONFIG', 'a client certificate for etcd needs both --store-cert and --store-key', {
      field: files?.certFile ? 'storeKey' : 'storeCert',
    });
  }
  const read = (field: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new BeaconError('BEACON_ERR_CONFIG', `cannot read ${field} ${path}: ${(err as Error).message}`, { field, cause: err });
    }
  };
  const ca = read('storeCa', files?.caFile);
  const cert = read('storeCert', files?.certFile);
  const key = read('storeKey', files?.keyFile);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function embeddedDir(url: string, dataDir: string | undefined): string {
  if (url === 'embedded') {
    if (dataDir === undefined || dataDir === '') {
      throw new BeaconError('BEACON_ERR_CONFIG', 'the embedded store needs a data directory: set the data dir, or use embedded:///absolute/path', {
        field: 'store',
      });
    }
    return dataDir;
  }
  if (url.startsWith('embedded://')) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    const path = parsed === undefined || parsed.host !== '' ? '' : decodeURIComponent(parsed.pathname);
    if (path === '' || path === '/' || !isAbsolute(path)) {
      throw new BeaconError(
        'BEACON_ERR_CONFIG',
        `store URL ${JSON.stringify(url)} must name an absolute directory and no host, e.g. embedded:///var/lib/beacon`,
        { field: 'store' },
      );
    }
    return path;
  }
  throw new BeaconError(
    'BEACON_ERR_CONFIG',
    `unknown store URL ${JSON.stringify(url)}: use "embedded", "embedded:///absolute/path" or "etcd://host:port,host:port,…"`,
    { field: 'store' },
  );
}
