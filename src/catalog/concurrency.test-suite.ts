/**
 * Two catalogs on one store — two writers, as two servers in a cluster are — hammering the
 * same node's services and checks with registrations, deregistrations and status changes.
 * One test body for every store driver: a driver's test file calls {@link runCatalogConcurrency}
 * with a function that opens a store (which may be shared with others: nothing here assumes it
 * is empty or exclusive beyond the catalog's own keys).
 *
 * A third party watches every store revision from the start and checks, revision by revision:
 * - no check is ever filed under a service that does not exist (no orphan checks);
 * - a check's status and output only ever change to a value an acknowledged status command
 *   asked for, never back to an older one (no stale overwrite: a lost update);
 * - a value asked for by a command that failed never appears.
 * At the end: every acknowledged status write appeared, and the final state of each check is
 * the last value its history shows — so the result is that of a serial order of the commands.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/helpers/prng.js';
import { isBeaconError } from '../errors/index.js';
import type { Store, WatchHandle } from '../store/index.js';
import { Catalog } from './catalog.js';
import { CATALOG_PREFIX, parseKey } from './keys.js';
import type { CheckRecord, HealthStatus, NodeRecord, ServiceRecord } from './types.js';

export interface OpenedCatalogStore {
  store: Store;
  cleanup(): Promise<void>;
}

const NODE = 'node-1';
const SERVICES = ['alpha', 'beta', 'gamma'];
const CHECKS_PER_SERVICE = 3;
const STATUSES: HealthStatus[] = ['passing', 'warning', 'critical'];

const nodeRec: NodeRecord = { ID: '', Node: NODE, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
const svc = (id: string, tag: string): ServiceRecord => ({
  ID: id,
  Service: id,
  Tags: [tag],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
});
const chk = (service: string, n: number): CheckRecord => ({
  Node: NODE,
  CheckID: `${service}:c${n}`,
  Name: `${service} check ${n}`,
  Status: 'critical',
  Notes: '',
  Output: '',
  ServiceID: service,
  ServiceName: service,
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTLMs: 60_000 },
});

/** Follows the catalog's keys revision by revision and checks the invariants on every one. */
class Observer {
  readonly services = new Map<string, ServiceRecord>();
  readonly checks = new Map<string, CheckRecord>();
  /** Every Output a check key has ever had (to spot a value coming back). */
  readonly outputs = new Map<string, Set<string>>();
  readonly seenTokens = new Set<string>();
  readonly violations: string[] = [];
  revision = 0;
  private handle: WatchHandle | undefined;

  constructor(private readonly store: Store) {}

  async start(): Promise<void> {
    const { revision } = await this.store.range(CATALOG_PREFIX);
    this.revision = revision;
    this.handle = this.store.watch({
      prefix: CATALOG_PREFIX,
      fromRevision: revision + 1,
      onBatch: (b) => {
        for (const ev of b.events) this.apply(ev.type, ev.kv.key, ev.kv.value);
        this.checkOrphans(b.revision);
        this.revision = b.revision;
      },
      onError: (err) => this.violations.push(`watch failed: ${err.message}`),
    });
  }

  stop(): void {
    this.handle?.cancel();
  }

  private apply(type: 'put' | 'delete', key: string, value: string): void {
    const p = parseKey(key);
    if (!p || p.node !== NODE) return;
    if (p.kind === 'service') {
      if (type === 'put') this.services.set(p.id, JSON.parse(value) as ServiceRecord);
      else this.services.delete(p.id);
      return;
    }
    if (p.kind !== 'check') return;
    if (type === 'delete') {
      this.checks.delete(p.id);
      this.outputs.delete(p.id);
      return;
    }
    const next = JSON.parse(value) as CheckRecord;
    const prev = this.checks.get(p.id);
    let seen = this.outputs.get(p.id);
    if (!seen) this.outputs.set(p.id, (seen = new Set()));
    if (prev && next.Output !== prev.Output && seen.has(next.Output)) {
      this.violations.push(`check ${p.id}: output went back to an older value ${JSON.stringify(next.Output)} (a stale write)`);
    }
    if (prev && next.Output === prev.Output && next.Status !== prev.Status) {
      this.violations.push(`check ${p.id}: status changed to ${next.Status} without a status command`);
    }
    seen.add(next.Output);
    if (next.Output) this.seenTokens.add(next.Output);
    this.checks.set(p.id, next);
  }

  private checkOrphans(rev: number): void {
    for (const [id, c] of this.checks) {
      if (c.ServiceID && !this.services.has(c.ServiceID)) this.violations.push(`revision ${rev}: check ${id} has no service ${c.ServiceID}`);
    }
  }
}

export function runCatalogConcurrency(name: string, open: () => Promise<OpenedCatalogStore>): void {
  describe(`catalog commands, two writers on one store (${name})`, () => {
    let opened: OpenedCatalogStore | undefined;
    const catalogs: Catalog[] = [];
    afterEach(async () => {
      for (const c of catalogs.splice(0)) c.stop();
      await opened?.cleanup();
    });

    it('loses no acknowledged change, leaves no orphan check, and every value has a serial explanation', async () => {
      opened = await open();
      const { store } = opened;
      const observer = new Observer(store);
      await observer.start();
      const writers = [new Catalog(store, { datacenter: 'dc1' }), new Catalog(store, { datacenter: 'dc1' })];
      catalogs.push(...writers);
      for (const w of writers) await w.start();
      await writers[0].commands.registerNodeWith(nodeRec, [], []);
      await writers[1].catchUp();

      const acked = new Map<string, string>(); // token -> check id, for status writes that resolved written
      const failedTokens = new Set<string>();
      const counts = { ok: 0, notFound: 0, conflict: 0 };
      let seq = 0;

      const one = async (w: number, rnd: () => number): Promise<void> => {
        const cmd = writers[w].commands;
        const s = SERVICES[Math.floor(rnd() * SERVICES.length)];
        const n = Math.floor(rnd() * CHECKS_PER_SERVICE);
        const roll = rnd();
        const token = `w${w}-${++seq}`;
        try {
          if (roll < 0.2) {
            const list = Array.from({ length: 1 + Math.floor(rnd() * CHECKS_PER_SERVICE) }, (_, i) => chk(s, i));
            await cmd.registerService(NODE, svc(s, token), list, { replaceExistingChecks: rnd() < 0.5 });
          } else if (roll < 0.3) {
            await cmd.deregisterService(NODE, s);
          } else if (roll < 0.5) {
            await cmd.registerCheck(chk(s, n));
          } else if (roll < 0.57) {
            await cmd.deregisterCheck(NODE, `${s}:c${n}`);
          } else {
            const status = STATUSES[Math.floor(rnd() * STATUSES.length)];
            const r = await cmd.setCheckStatus(NODE, `${s}:c${n}`, { status, output: token });
            if (r.written) acked.set(token, `${s}:c${n}`);
          }
          counts.ok++;
        } catch (err) {
          failedTokens.add(token);
          if (isBeaconError(err, 'BEACON_ERR_NOT_FOUND')) counts.notFound++;
          else if (isBeaconError(err, 'BEACON_ERR_CONFLICT')) counts.conflict++;
          else throw err;
        }
      };

      // Each writer runs several loops at once, so commands planned on a stale view collide.
      const LOOPS = 4;
      const OPS_PER_LOOP = 60;
      const loops: Promise<void>[] = [];
      for (let w = 0; w < writers.length; w++) {
        for (let l = 0; l < LOOPS; l++) {
          const rnd = seededRandom(1000 * w + l + 7);
          loops.push(
            (async () => {
              for (let i = 0; i < OPS_PER_LOOP; i++) await one(w, rnd);
            })(),
          );
        }
      }
      await Promise.all(loops);
      const end = await store.currentRevision();
      await expect.poll(() => observer.revision, { timeout: 20_000 }).toBeGreaterThanOrEqual(end);
      for (const w of writers) await w.waitForRevision(end);
      observer.stop();

      expect(observer.violations).toEqual([]);
      // Commands did collide and were planned again (the guards were exercised).
      expect(writers[0].commands.stats.conflicts + writers[1].commands.stats.conflicts).toBeGreaterThan(0);
      expect(counts.ok).toBeGreaterThan(LOOPS * OPS_PER_LOOP);
      // Every acknowledged status write was in the store at some revision; no failed one ever was.
      for (const token of acked.keys()) expect(observer.seenTokens.has(token), `acknowledged ${token}`).toBe(true);
      for (const token of failedTokens) expect(observer.seenTokens.has(token), `failed ${token}`).toBe(false);
      // Both writers' views, and the observer's, agree on the final state.
      for (const w of writers) {
        for (const s of SERVICES) {
          const inst = w.instance(NODE, s);
          expect(inst?.service.record, `service ${s}`).toEqual(observer.services.get(s));
          const ids = (inst?.checks ?? [])
            .filter((c) => c.record.ServiceID === s)
            .map((c) => c.record.CheckID)
            .sort();
          const expected = [...observer.checks.values()]
            .filter((c) => c.ServiceID === s)
            .map((c) => c.CheckID)
            .sort();
          expect(ids, `checks of ${s}`).toEqual(expected);
          for (const c of inst?.checks ?? []) {
            if (!c.record.ServiceID) continue;
            expect(c.record).toEqual(observer.checks.get(c.record.CheckID));
            // A check carries its service's current name and tags.
            expect(c.record.ServiceTags).toEqual(inst!.service.record.Tags);
          }
        }
      }
    });

    it('many registrations of different services on one node all land (the node record is not rewritten when it is unchanged)', async () => {
      opened = await open();
      const { store } = opened;
      const writers = [new Catalog(store, { datacenter: 'dc1' }), new Catalog(store, { datacenter: 'dc1' })];
      catalogs.push(...writers);
      for (const w of writers) await w.start();
      const reg = (i: number) => ({
        node: { Node: NODE, Address: '10.0.0.1', ID: '', TaggedAddresses: { lan: '10.0.0.1' }, Meta: { rack: 'r1' } },
        service: svc(`s-${i}`, 't'),
        checks: [],
      });
      await writers[0].commands.catalogRegister(reg(0));
      await writers[1].catchUp();
      const results = await Promise.all(Array.from({ length: 128 }, (_, i) => writers[i % 2].commands.catalogRegister(reg(i + 1))));
      expect(results.every((r) => r)).toBe(true);
      await writers[0].catchUp();
      expect(writers[0].node(NODE).value?.services).toHaveLength(129);
    });

    it('a command planned on a stale view is guarded: a check registration racing a deregistration never leaves an orphan', async () => {
      opened = await open();
      const { store } = opened;
      const a = new Catalog(store, { datacenter: 'dc1' });
      const b = new Catalog(store, { datacenter: 'dc1' });
      catalogs.push(a, b);
      await a.start();
      await b.start();
      await a.commands.registerNodeWith(nodeRec, [svc('web', 't')], []);
      await b.catchUp();
      // Both start from views that have the service; the deregistration commits first.
      const dereg = a.commands.deregisterService(NODE, 'web');
      const reg = b.commands.registerCheck(chk('web', 0)).then(
        () => 'registered',
        (e: unknown) => (isBeaconError(e, 'BEACON_ERR_NOT_FOUND') ? 'not found' : Promise.reject(e)),
      );
      const [gone, outcome] = await Promise.all([dereg, reg]);
      await a.catchUp();
      const check = a.check(NODE, 'web:c0');
      // Either order is serial: deregistered then refused, or registered then deregistered with it.
      expect(gone).toBe(true);
      expect(['registered', 'not found']).toContain(outcome);
      expect(check).toBeUndefined();
      expect(a.instance(NODE, 'web')).toBeUndefined();
    });
  });
}
