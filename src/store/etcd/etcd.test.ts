/**
 * The etcd driver against a real three-member etcd cluster (test/helpers/etcd-cluster.ts), one
 * cluster for this file: the shared contract suite, each test in a namespace of its own on a
 * store the other tests also use, then what only this driver does.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from '../../../test/helpers/etcd-cluster.js';
import { runStoreContract } from '../contract.test-suite.js';
import { namespaced } from '../namespace.js';
import { EtcdStore } from './etcd-store.js';
import { parseEtcdUrl } from './etcd-url.js';

let cluster: EtcdCluster;
let shared: EtcdStore;

beforeAll(async () => {
  cluster = await startEtcdCluster();
  shared = await EtcdStore.open({ endpoints: parseEtcdUrl(cluster.url) });
});

afterAll(async () => {
  await shared?.close();
  await cluster?.cleanup();
});

runStoreContract(
  'etcd',
  async () => {
    const store = await EtcdStore.open({ endpoints: parseEtcdUrl(cluster.url) });
    const view = namespaced(store, `contract-${randomUUID().slice(0, 8)}/`, { closeStore: true });
    return { store: view, cleanup: () => view.close() };
  },
  { reopen: false },
);
