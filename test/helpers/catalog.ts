/** A real embedded store and catalog in a temp dir, for unit tests; close() removes both. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../../src/catalog/index.js';
import { openStore, type Store } from '../../src/store/index.js';

export interface TestCatalog {
  dir: string;
  store: Store;
  catalog: Catalog;
  close(): Promise<void>;
}

export async function openTestCatalog(prefix = 'beacon-catalog-', datacenter = 'dc1'): Promise<TestCatalog> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = await openStore('embedded', { dataDir: dir });
  const catalog = new Catalog(store, { datacenter });
  await catalog.start();
  return {
    dir,
    store,
    catalog,
    async close() {
      catalog.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
