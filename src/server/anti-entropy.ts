import client from 'prom-client';
import type { Catalog, Topic } from '../catalog/index.js';
import type { Logger } from '../config/index.js';
import type { LocalState } from './local-state.js';
import { REPAIR_KINDS, RepairPlanner, repairCounts, type ActualNode, type Repair, type RepairKind } from './repair-plan.js';
import type { SharedLock } from './shared-lock.js';

export interface AntiEntropyOptions {
  /** Full comparison this often (±10 % jitter) even when nothing seems to change. */
  intervalMs: number;
  /** A catalog change on this node is compared this long after it (changes meanwhile share the pass). */
  debounceMs: number;
}

export interface AntiEntropyDeps {
  catalog: Pick<Catalog, 'node' | 'serviceRecord' | 'storedCheck' | 'checksOf' | 'commands' | 'onChange' | 'onCheckChange'>;
  state: LocalState;
  lock: SharedLock;
  /** Whether this server's session is up (serfHealth may be set back to passing). */
  sessionUp(): boolean;
  logger: Logger;
  registry?: client.Registry;
  options: AntiEntropyOptions;
}

/** Plans in one pass at most this many times (a repair's own result is checked by the next). */
const MAX_PASSES = 3;
/**
 * A change-triggered pass waits at least this many times as long as the last comparison took,
 * so that on a node with very many services (a comparison of 100,000 takes tens of ms)
 * anti-entropy stays near 2 % of a core however often the node changes.
 */
const COST_FACTOR = 50;
const RETRY_FIRST_MS = 1000;

const jitter = (ms: number, spread: number): number => ms * (1 - spread + Math.random() * 2 * spread);
const quote = (s: string): string => JSON.stringify(s);

/**
 * Anti-entropy for this server's own node, as Consul's agent does it: the local state is the
 * source of truth, and the catalog is compared with it and put back by catalog commands — on
 * every catalog change touching the node (debounced), when the session comes back, and on a
 * jittered period. Restores the node record, re-registers missing or altered services and
 * checks (a re-created check starts critical, serfHealth passing while the session is up),
 * removes services and checks the local state does not have, and sets serfHealth back to
 * passing while the session is up. Each repair is logged (info) and counted in
 * `beacon_server_anti_entropy_repairs_total{kind}`. A pass that fails (store away, conflicts)
 * is logged and tried again with back-off.
 */
export class AntiEntropy {
  private readonly planner = new RepairPlanner();
  private readonly name: string;
  private readonly counter: client.Counter<'kind'> | undefined;
  /** Repairs made so far, by kind (what the metric counts). */
  readonly repairs: Record<RepairKind, number> = Object.fromEntries(REPAIR_KINDS.map((k) => [k, 0])) as Record<RepairKind, number>;
  private debounce: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private stopped = false;
  /** How long the last comparison (planning, not the repairs) took, in ms. */
  private lastPlanMs = 0;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly deps: AntiEntropyDeps) {
    this.name = deps.state.name;
    if (deps.registry) {
      const existing = deps.registry.getSingleMetric('beacon_server_anti_entropy_repairs_total') as client.Counter<'kind'> | undefined;
      this.counter =
        existing ??
        new client.Counter({
          name: 'beacon_server_anti_entropy_repairs_total',
          help: "Repairs anti-entropy made to this server's own node in the catalog, by kind of thing put back or removed.",
          labelNames: ['kind'] as const,
          registers: [deps.registry],
        });
      for (const k of REPAIR_KINDS) this.counter.inc({ kind: k }, 0);
    }
  }

  /** Starts following the catalog and the periodic pass (run one `syncNow()` first). */
  start(): void {
    const topic: Topic = `node:${this.name}`;
    this.unsubscribe.push(
      this.deps.catalog.onChange((topics) => {
        if (topics.has(topic)) this.trigger();
      }),
      // After a re-list (broken or compacted watch) anything may have changed.
      this.deps.catalog.onCheckChange({ changed: () => undefined, reloaded: () => this.trigger() }),
    );
    this.schedulePeriodic();
  }

  /**
   * A pass soon: once `debounceMs` has passed, or longer on a node whose comparison is costly
   * (see COST_FACTOR; never longer than the period). A pass already due takes this one in.
   */
  trigger(): void {
    if (this.stopped || this.debounce) return;
    const { debounceMs, intervalMs } = this.deps.options;
    this.debounce = setTimeout(
      () => {
        this.debounce = undefined;
        this.run();
      },
      Math.min(Math.max(debounceMs, this.lastPlanMs * COST_FACTOR), intervalMs),
    );
    this.debounce.unref();
  }

  /**
   * One full pass now; resolves with the number of repairs, rejects when one failed. With
   * `firstRegistration` (a server's first start on its data dir) what it writes is this node's
   * registration, not a repair: it is neither logged one by one nor counted.
   */
  syncNow(opts: { firstRegistration?: boolean } = {}): Promise<number> {
    return this.deps.lock.withExclusive(async () => {
      let made = 0;
      for (let pass = 0; pass < MAX_PASSES && !this.stopped; pass++) {
        const t0 = performance.now();
        const plan = this.planner.plan(this.deps.state, this.actual(), this.deps.sessionUp());
        this.lastPlanMs = performance.now() - t0;
        if (plan.length === 0) break;
        for (const r of plan) {
          await this.execute(r, !opts.firstRegistration);
          made++;
        }
      }
      return made;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearTimeout(this.periodic);
    clearTimeout(this.retry);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.running;
  }

  /** Runs a pass unless one is running (then one more follows it); failures are retried. */
  private run(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retry);
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.syncNow();
        } while (this.again && !this.stopped);
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        this.failures++;
        const ms = jitter(Math.min(RETRY_FIRST_MS * 2 ** (this.failures - 1), this.deps.options.intervalMs), 0.2);
        this.deps.logger.warn({ err, retryInMs: Math.round(ms) }, "anti-entropy: repairing this server's node failed; trying again");
        this.retry = setTimeout(() => this.run(), ms);
        this.retry.unref();
      } finally {
        this.running = undefined;
      }
    })();
  }

  private schedulePeriodic(): void {
    if (this.stopped) return;
    this.periodic = setTimeout(
      () => {
        this.run();
        this.schedulePeriodic();
      },
      jitter(this.deps.options.intervalMs, 0.1),
    );
    this.periodic.unref();
  }

  /**
   * The node as the store has it: a status health decided but could not write (shown in
   * answers while the store refuses writes) is not something to repair.
   */
  private actual(): ActualNode {
    const c = this.deps.catalog;
    const name = this.name;
    const v = c.node(name).value;
    return {
      node: v?.node,
      services: v?.services ?? [],
      checks: v?.checks ?? [],
      service: (id) => c.serviceRecord(name, id),
      check: (id) => c.storedCheck(name, id),
      checksOf: (sid) => c.checksOf(name, sid),
    };
  }

  private async execute(r: Repair, isRepair: boolean): Promise<void> {
    const cmd = this.deps.catalog.commands;
    const node = this.name;
    const log = (fields: object, msg: string) => {
      if (isRepair) this.deps.logger.info({ antiEntropy: r.type, node, ...fields }, `anti-entropy: ${msg}`);
    };
    switch (r.type) {
      case 'restore-node':
        await cmd.registerNodeWith(r.node, r.services, r.checks);
        log(
          { services: r.services.map((s) => s.ID), checks: r.checks.map((c) => c.CheckID) },
          `restored this server's node, missing from the catalog, with ${r.services.length} services and ${r.checks.length} checks`,
        );
        break;
      case 'update-node':
        await cmd.registerNodeWith(r.node, [], []);
        log({ fields: r.fields }, `restored this server's node record (${r.fields.join(', ')} differed)`);
        break;
      case 'register-service':
        await cmd.registerService(node, r.service, r.checks, { replaceExistingChecks: true, node: this.deps.state.node });
        log(
          { service: r.service.ID, serviceState: r.serviceState, restoredChecks: r.restoredChecks, removedChecks: r.removedChecks },
          `restored service ${quote(r.service.ID)} (${[
            r.serviceState === 'ok' ? '' : r.serviceState,
            r.restoredChecks.length > 0 ? `checks restored: ${r.restoredChecks.join(', ')}` : '',
            r.removedChecks.length > 0 ? `checks removed: ${r.removedChecks.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; ')})`,
        );
        break;
      case 'register-check':
        await cmd.registerCheck({ ...r.check, Node: node });
        log({ check: r.check.CheckID, why: r.why }, `restored check ${quote(r.check.CheckID)} (${r.why})`);
        break;
      case 'remove-service':
        await cmd.deregisterService(node, r.id);
        log({ service: r.id }, `removed service ${quote(r.id)}: not registered on this server`);
        break;
      case 'remove-check':
        await cmd.deregisterCheck(node, r.id);
        log({ check: r.id }, `removed check ${quote(r.id)}: not registered on this server`);
        break;
      case 'set-status':
        await cmd.setCheckStatus(node, r.checkId, { status: r.status, output: r.output });
        log({ check: r.checkId, status: r.status }, `set ${r.checkId} back to ${r.status}`);
        break;
    }
    if (!isRepair) return;
    for (const [kind, n] of Object.entries(repairCounts(r)) as Array<[RepairKind, number]>) {
      if (n <= 0) continue;
      this.repairs[kind] += n;
      this.counter?.inc({ kind }, n);
    }
  }
}
