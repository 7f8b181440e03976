import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckRecord, NodeRecord, ServiceRecord } from '../catalog/index.js';
import { isBeaconError } from '../errors/index.js';
import { JOURNAL_FILE, LocalStateFile, readLocalState, SNAPSHOT_FILE } from './local-state-file.js';
import { LocalState } from './local-state.js';

const NODE: NodeRecord = { ID: 'id-1', Node: 'srv', Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
const svc = (id: string, port = 80): ServiceRecord => ({
  ID: id,
  Service: id,
  Tags: ['t'],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: port,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
});
const check = (id: string, serviceId = '', status: CheckRecord['Status'] = 'passing'): CheckRecord => ({
  Node: 'srv',
  CheckID: id,
  Name: id,
  Status: status,
  Notes: '',
  Output: 'out',
  ServiceID: serviceId,
  ServiceName: '',
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 5000 },
});

/** A state with one change applied the way the server applies them: planned, then applied. */
function stateWith(fn: (s: LocalState) => void): LocalState {
  const s = new LocalState(NODE);
  fn(s);
  return s;
}

describe('local state', () => {
  it('keeps check definitions without their status, filed under their service', () => {
    const s = stateWith((st) => st.apply(st.planService(svc('web'), [check('a', 'web', 'passing')], { replaceExistingChecks: false, source: 'api' })));
    expect(s.checks.get('a')?.check).toMatchObject({ Status: 'critical', Output: '', ServiceID: 'web', ServiceName: 'web', ServiceTags: ['t'] });
  });

  it('re-registering keeps unlisted checks, or removes them with replaceExistingChecks', () => {
    const s = stateWith((st) => st.apply(st.planService(svc('web'), [check('a', 'web'), check('b', 'web')], { replaceExistingChecks: false, source: 'api' })));
    s.apply(s.planService(svc('web', 81), [check('c', 'web')], { replaceExistingChecks: false, source: 'api' }));
    expect([...s.checks.keys()].sort()).toEqual(['a', 'b', 'c']);
    s.apply(s.planService(svc('web', 82), [check('c', 'web')], { replaceExistingChecks: true, source: 'api' }));
    expect([...s.checks.keys()]).toEqual(['c']);
    expect(s.services.get('web')?.service.Port).toBe(82);
  });

  it('removing a service removes its checks, and nothing else', () => {
    const s = stateWith((st) => {
      st.apply(st.planService(svc('web'), [check('a', 'web')], { replaceExistingChecks: false, source: 'api' }));
      st.apply(st.planCheck(check('node-check'), 'api'));
    });
    s.apply(s.planServiceRemoval('web'));
    expect([...s.services.keys()]).toEqual([]);
    expect([...s.checks.keys()]).toEqual(['node-check']);
    expect(s.planServiceRemoval('web')).toEqual([]);
  });

  it("persists API and config entries, never the server's own", () => {
    const s = stateWith((st) =>
      st.apply([
        { op: 'service', source: 'server', service: svc('consul') },
        { op: 'service', source: 'config', service: svc('billing') },
        { op: 'service', source: 'api', service: svc('web') },
      ]),
    );
    expect(s.toPersisted().services.map((e) => [e.service.ID, e.source])).toEqual([
      ['billing', 'config'],
      ['web', 'api'],
    ]);
  });
});

describe('local state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'beacon-local-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function reload(): Promise<LocalState> {
    const loaded = await readLocalState(dir);
    const s = new LocalState(NODE);
    s.apply(loaded.ops);
    return s;
  }

  it('finds nothing in a new data dir', async () => {
    expect(await readLocalState(dir)).toEqual({ found: false, ops: [], tornTail: false });
  });

  it('what was appended is read back after a restart (snapshot plus journal)', async () => {
    const s = new LocalState(NODE);
    const file = await LocalStateFile.open(dir, () => s.toPersisted());
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const ops = s.planService(svc(`svc-${i}`, 1000 + i), [check(`c-${i}`, `svc-${i}`)], { replaceExistingChecks: false, source: 'api' });
      s.apply(ops);
      writes.push(file.append(ops));
    }
    const gone = s.planServiceRemoval('svc-7');
    s.apply(gone);
    writes.push(file.append(gone));
    await Promise.all(writes);
    await file.close();
    const back = await reload();
    expect(back.services.size).toBe(49);
    expect(back.services.get('svc-3')?.service.Port).toBe(1003);
    expect(back.checks.has('c-7')).toBe(false);
    expect(back.toPersisted()).toEqual(s.toPersisted());
  });

  it('ignores an incomplete last journal line and says so; refuses a damaged one in the middle', async () => {
    const s = new LocalState(NODE);
    const file = await LocalStateFile.open(dir, () => s.toPersisted());
    const ops = s.planService(svc('web'), [], { replaceExistingChecks: false, source: 'api' });
    s.apply(ops);
    await file.append(ops);
    await file.close();
    appendFileSync(join(dir, JOURNAL_FILE), '{"op":"service","sou');
    const torn = await readLocalState(dir);
    expect(torn.tornTail).toBe(true);
    expect((await reload()).services.has('web')).toBe(true);

    appendFileSync(join(dir, JOURNAL_FILE), '\n{"op":"check-","id":"x"}\n');
    const err = await readLocalState(dir).catch((e: unknown) => e);
    expect(isBeaconError(err, 'BEACON_ERR_STARTUP')).toBe(true);
    expect((err as Error).message).toMatch(/local-node\.journal is corrupt \(line 2: /);
  });

  it('refuses a snapshot that is not one', async () => {
    writeFileSync(join(dir, SNAPSHOT_FILE), JSON.stringify({ node: { ID: 'x', Meta: {} }, services: [{ source: 'api', service: { ID: 'web' } }], checks: [] }));
    await expect(readLocalState(dir)).rejects.toThrow(/local-node\.json is corrupt \(not a local state snapshot\)/);
    writeFileSync(join(dir, SNAPSHOT_FILE), '{"node":');
    await expect(readLocalState(dir)).rejects.toThrow(/local-node\.json is corrupt/);
  });

  it('folds a journal that outgrew the snapshot into a new snapshot', async () => {
    const s = new LocalState(NODE);
    const file = await LocalStateFile.open(dir, () => s.toPersisted(), { minCompactBytes: 64 << 10 });
    // Rewriting one service over and over: the journal grows, the state does not.
    for (let i = 0; i < 1000; i++) {
      const ops = s.planService({ ...svc('web', i % 60000), Meta: { pad: 'x'.repeat(200) } }, [], { replaceExistingChecks: false, source: 'api' });
      s.apply(ops);
      await file.append(ops);
    }
    await file.close();
    expect(statSync(join(dir, JOURNAL_FILE)).size).toBeLessThan(64 << 10);
    expect((await reload()).services.get('web')?.service.Port).toBe(999);
  });

  it('replaying a journal the snapshot already holds changes nothing (a crash between the two writes of a compaction)', async () => {
    const s = new LocalState(NODE);
    const ops = [...s.planService(svc('web'), [check('a', 'web')], { replaceExistingChecks: false, source: 'api' })];
    s.apply(ops);
    const again = s.planServiceRemoval('web');
    s.apply(again);
    const more = s.planService(svc('web', 90), [], { replaceExistingChecks: false, source: 'api' });
    s.apply(more);
    writeFileSync(join(dir, SNAPSHOT_FILE), JSON.stringify(s.toPersisted()));
    writeFileSync(join(dir, JOURNAL_FILE), [...ops, ...again, ...more].map((o) => `${JSON.stringify(o)}\n`).join(''));
    expect((await reload()).toPersisted()).toEqual(s.toPersisted());
    expect(JSON.parse(readFileSync(join(dir, SNAPSHOT_FILE), 'utf8'))).toEqual(s.toPersisted());
  });
});
