import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { runCatalogConcurrency } from './concurrency.test-suite.js';

runCatalogConcurrency('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-catalog-race-'));
  const store = await openStore('embedded', { dataDir: dir });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
