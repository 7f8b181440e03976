/**
 * The catalog's two-writer concurrency suite on the etcd driver: both writers (as two Beacon
 * servers would) and the observer on one real three-member etcd cluster, each test in a
 * namespace of its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from '../../test/helpers/etcd-cluster.js';
import { openStore } from '../store/index.js';
import { runCatalogConcurrency } from './concurrency.test-suite.js';

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcdCluster();
});

afterAll(async () => {
  await cluster?.cleanup();
});

runCatalogConcurrency('etcd', async () => {
  const store = await openStore(cluster.url, { prefix: `catalog-race-${randomUUID().slice(0, 8)}/` });
  return {
    store,
    async cleanup() {
      await store.deletePrefix('');
      await store.close();
    },
  };
});
