export { EtcdStore, DEFAULT_ETCD_REQUEST_TIMEOUT_MS, MIN_ETCD_REQUEST_TIMEOUT_MS, type EtcdStoreOptions } from './etcd-store.js';
export { parseEtcdUrl, isEtcdUrl, etcdUsesTls, DEFAULT_ETCD_PORT } from './etcd-url.js';
export type { EtcdTls } from './etcd-client.js';
