/**
 * Agent writes on this server's node with the local state as the source of truth: what the
 * catalog and the local state file hold after each, over a real catalog and store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckRecord, NodeRecord, ServiceRecord } from '../catalog/index.js';
import { isBeaconError } from '../errors/index.js';
import { openTestCatalog, type TestCatalog } from '../../test/helpers/catalog.js';
import { LocalStateFile, readLocalState } from './local-state-file.js';
import { LocalState } from './local-state.js';
import { NodeOwner } from './node-owner.js';
import { SharedLock } from './shared-lock.js';

const NODE: NodeRecord = {
  ID: '9d1c6b0e-7a55-4e0b-b7d4-2f8a3c5e6d10',
  Node: 'srv',
  Address: '127.0.0.1',
  Datacenter: 'dc1',
  TaggedAddresses: {},
  Meta: {},
};
const svc = (id: string, port = 80): ServiceRecord => ({
  ID: id,
  Service: id,
  Tags: [],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: port,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
});
const ttl = (id: string, serviceId = '', status: CheckRecord['Status'] = 'critical'): CheckRecord => ({
  Node: 'srv',
  CheckID: id,
  Name: id,
  Status: status,
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: '',
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 10_000 },
});

let tc: TestCatalog;
let state: LocalState;
let file: LocalStateFile;
let owner: NodeOwner;

beforeEach(async () => {
  tc = await openTestCatalog('beacon-owner-');
  state = new LocalState(NODE);
  file = await LocalStateFile.open(tc.dir, () => state.toPersisted());
  owner = new NodeOwner(tc.catalog, state, file, new SharedLock());
});
afterEach(async () => {
  await file.close();
  await tc.close();
});

const catalogCheck = (id: string) => tc.catalog.check('srv', id)?.record;
async function persisted(): Promise<LocalState> {
  const s = new LocalState(NODE);
  s.apply((await readLocalState(tc.dir)).ops);
  return s;
}

describe("agent writes on this server's node", () => {
  it('register a service: the node if missing, the service, its checks with their first status; saved before it answers', async () => {
    await owner.registerService(svc('web'), [ttl('service:web', 'web', 'passing')], { replaceExistingChecks: false, source: 'api' });
    expect(tc.catalog.nodeRecord('srv')?.record).toEqual(NODE);
    expect(catalogCheck('service:web')).toMatchObject({ Status: 'passing', ServiceName: 'web' });
    const back = await persisted();
    expect(back.services.get('web')).toEqual({ service: svc('web'), source: 'api' });
    expect(back.checks.get('service:web')?.check).toMatchObject({ Status: 'critical', ServiceID: 'web' });
  });

  it('register again: checks keep their status; unlisted ones stay, or go with replace-existing-checks', async () => {
    await owner.registerService(svc('web'), [ttl('a', 'web'), ttl('b', 'web')], { replaceExistingChecks: false, source: 'api' });
    await tc.catalog.commands.setCheckStatus('srv', 'a', { status: 'passing', output: 'ok' });
    await owner.registerService(svc('web', 81), [ttl('a', 'web', 'critical')], { replaceExistingChecks: false, source: 'api' });
    expect(catalogCheck('a')).toMatchObject({ Status: 'passing', Output: 'ok' });
    expect(catalogCheck('b')).toBeDefined();
    await owner.registerService(svc('web', 82), [ttl('a', 'web')], { replaceExistingChecks: true, source: 'api' });
    expect(catalogCheck('b')).toBeUndefined();
    expect([...state.checks.keys()]).toEqual(['a']);
    expect(tc.catalog.serviceRecord('srv', 'web')?.record.Port).toBe(82);
  });

  it('a check on a service the local state does not have: 404, nothing written', async () => {
    const rev = await tc.store.currentRevision();
    const err = await owner.registerCheck(ttl('x', 'nope'), 'api').catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toBe('ServiceID "nope" does not exist');
    expect(state.checks.size).toBe(0);
    expect(await tc.store.currentRevision()).toBe(rev);
  });

  it('a check on a service the catalog lost is written with its service put back', async () => {
    await owner.registerService(svc('web'), [], { replaceExistingChecks: false, source: 'api' });
    await tc.catalog.commands.deregisterNode('srv');
    await owner.registerCheck(ttl('late', 'web', 'passing'), 'api');
    expect(tc.catalog.serviceRecord('srv', 'web')).toBeDefined();
    expect(catalogCheck('late')).toMatchObject({ Status: 'passing', ServiceID: 'web' });
  });

  it('deregister: removes the service and its checks from both; also a service only the catalog has', async () => {
    await owner.registerService(svc('web'), [ttl('a', 'web')], { replaceExistingChecks: false, source: 'api' });
    expect(await owner.deregisterService('web')).toBe(true);
    expect(tc.catalog.serviceRecord('srv', 'web')).toBeUndefined();
    expect(catalogCheck('a')).toBeUndefined();
    expect((await persisted()).services.size).toBe(0);
    await tc.catalog.commands.registerService('srv', svc('catalog-only'), []);
    expect(await owner.deregisterService('catalog-only')).toBe(true);
    expect(await owner.deregisterService('never')).toBe(false);
  });

  it('maintenance: enabling adds a critical check once, disabling removes it; an unknown service is 404', async () => {
    await owner.registerService(svc('web'), [], { replaceExistingChecks: false, source: 'api' });
    await owner.setMaintenance(true, 'upgrading');
    await owner.setMaintenance(true, 'again');
    expect(catalogCheck('_node_maintenance')).toMatchObject({ Status: 'critical', Notes: 'upgrading', Type: 'maintenance' });
    await owner.setMaintenance(true, '', 'web');
    expect(catalogCheck('_service_maintenance:web')).toMatchObject({ Status: 'critical', ServiceID: 'web', ServiceName: 'web' });
    await owner.setMaintenance(false, '');
    expect(catalogCheck('_node_maintenance')).toBeUndefined();
    expect([...(await persisted()).checks.keys()]).toEqual(['_service_maintenance:web']);
    await expect(owner.setMaintenance(true, '', 'nope')).rejects.toThrow('No service registered with ID "nope"');
  });

  it('drops checks left under a service the local state no longer has', async () => {
    state.apply([
      { op: 'check', source: 'api', check: ttl('orphan', 'gone') },
      { op: 'check', source: 'api', check: ttl('mem') },
    ]);
    await owner.pruneOrphanChecks();
    expect([...state.checks.keys()]).toEqual(['mem']);
  });
});
