import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog } from '../catalog/index.js';
import type { Logger, RuntimeConfig } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import { SERF_CHECK_ID } from '../health/index.js';
import { JOURNAL_FILE, LocalStateFile, readLocalState } from './local-state-file.js';
import { LocalState, type LocalOp } from './local-state.js';
import { consulService, selfNodeRecord, serfHealthCheck } from './self-registration.js';

export interface OpenedLocalState {
  state: LocalState;
  file: LocalStateFile;
  /** False on the first start on this data dir (no local state file yet). */
  found: boolean;
}

/**
 * Loads this server's local state from its data dir (snapshot plus journal), before anything
 * is compared with the catalog:
 * - the node keeps its ID and Meta; its address and datacenter come from the config;
 * - the config file's entries of the previous run are dropped (the file is registered again);
 * - the `consul` service and `serfHealth` check are the server's own, rebuilt every start;
 * - with no local state yet (a new data dir, or one from a Beacon that kept none), what the
 *   catalog holds for this node is taken as registered, so nothing is lost on upgrade.
 * Then writes a fresh snapshot (the journal starts empty).
 */
export async function openLocalState(catalog: Catalog, config: RuntimeConfig, logger: Logger): Promise<OpenedLocalState> {
  const dir = config.dataDir;
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new BeaconError('BEACON_ERR_STARTUP', `cannot create the data directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const loaded = await readLocalState(dir);
  const inCatalog = catalog.node(config.node).value;
  const state = new LocalState(selfNodeRecord(config, '', {}));
  if (loaded.found) {
    state.apply(loaded.ops);
    if (loaded.tornTail) logger.warn({ file: join(dir, JOURNAL_FILE) }, 'local state: ignored an incomplete last journal line (a write cut short by a crash)');
  } else if (inCatalog) {
    const ops: LocalOp[] = [{ op: 'node', id: inCatalog.node.record.ID, meta: inCatalog.node.record.Meta }];
    for (const s of inCatalog.services) if (s.record.ID !== 'consul') ops.push({ op: 'service', source: 'api', service: s.record });
    for (const c of inCatalog.checks)
      if (c.record.CheckID !== SERF_CHECK_ID) ops.push({ op: 'check', source: 'api', check: { ...c.record, Status: 'critical', Output: '' } });
    state.apply(ops);
    logger.info({ services: state.services.size, checks: state.checks.size }, "local state: none yet; took this node's services and checks from the catalog");
  }
  const drop: LocalOp[] = [];
  for (const [id, s] of state.services) if (s.source === 'config') drop.push({ op: 'service-', id });
  for (const [id, c] of state.checks) if (c.source === 'config') drop.push({ op: 'check-', id });
  // Config and ID from this start, Meta as kept (consul-network-segment always there).
  const id = state.node.ID || inCatalog?.node.record.ID || randomUUID();
  drop.push({ op: 'node', id, meta: selfNodeRecord(config, id, state.node.Meta).Meta });
  drop.push({ op: 'service', source: 'server', service: consulService() });
  drop.push({ op: 'check', source: 'server', check: { ...serfHealthCheck(config.node), Status: 'critical', Output: '' } });
  state.apply(drop);
  const file = await LocalStateFile.open(dir, () => state.toPersisted());
  return { state, file, found: loaded.found };
}
