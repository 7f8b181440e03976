import { isAbsolute } from 'node:path';
import { BeaconError } from '../errors/index.js';
import { EmbeddedStore } from './embedded/index.js';
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
}

/**
 * Opens the store a URL names:
 * - `embedded` — the embedded driver in `opts.dataDir`;
 * - `embedded:///absolute/dir` — the embedded driver in that directory.
 *
 * With `opts.prefix` the store comes back as a namespaced view that owns the store: closing it
 * closes the store.
 *
 * Fails with BEACON_ERR_CONFIG for a URL or prefix it cannot use (before touching anything),
 * BEACON_ERR_STARTUP (naming the path) when the store cannot be opened, and
 * BEACON_ERR_STORE_CORRUPT when its data is damaged and `opts.recover` is not set.
 *
 * @example
 * const store = await openStore('embedded', { dataDir: './data' });
 * const shared = await openStore('embedded:///var/lib/beacon', { prefix: 'beacon/dc1/' });
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const dataDir = embeddedDir(url, opts.dataDir);
  if (opts.prefix !== undefined) {
    const problem = namespacePrefixProblem(opts.prefix);
    if (problem !== undefined) {
      throw new BeaconError('BEACON_ERR_CONFIG', `store-prefix ${JSON.stringify(opts.prefix)} ${problem}`, { field: 'store-prefix' });
    }
  }
  const store = await EmbeddedStore.open({ dataDir, logger: opts.logger, historyRevisions: opts.historyRevisions, recover: opts.recover });
  return opts.prefix === undefined ? store : namespaced(store, opts.prefix, { closeStore: true });
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
  if (/^etcd(\+https?)?:\/\//i.test(url)) {
    throw new BeaconError('BEACON_ERR_CONFIG', 'the etcd store driver is not available in this build yet', { field: 'store' });
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
  throw new BeaconError('BEACON_ERR_CONFIG', `unknown store URL ${JSON.stringify(url)}: use "embedded" or "embedded:///absolute/path"`, { field: 'store' });
}
