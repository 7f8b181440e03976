import type { Catalog, CheckRecord, HealthStatus, Indexed } from '../catalog/index.js';
import type { RuntimeConfig } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import { ActiveCheck } from './active-check.js';
import { CheckFeed, checkStoreKey } from './check-feed.js';
import { CheckWriter, type CheckWriterDeps } from './check-writer.js';
import { NodeLiveness, SERF_CHECK_ID } from './liveness.js';
import { setMaintenance } from './maintenance.js';
import { createHealthMetrics, type HealthMetrics } from './metrics.js';
import { capOutput, outputCap } from './output.js';
import { ownsEverything } from './ownership.js';
import { Reaper } from './reaper.js';
import { createRunner, isActiveType, timeoutOf, type ActiveType } from './runners/index.js';
import { StatusCounter, thresholdsOf } from './status-counter.js';
import { TtlCheck } from './ttl-check.js';
import type { CheckResult, Health, HealthApi, HealthDeps, HealthLogger, HealthOptions } from './types.js';

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  sessionTtlSeconds: 10,
  outputUpdateIntervalMs: 5 * 60_000,
  reaperTickMs: 1000,
  reapFloorMs: 1000,
  rescanIntervalMs: 30_000,
  owns: ownsEverything,
};

export const SCRIPTS_DISABLED_OUTPUT = 'Script checks are disabled on this server; start it with --enable-script-checks to run this check';
export const LOCAL_SCRIPTS_ONLY_OUTPUT = 'This server runs only the script checks of its config file (--enable-local-script-checks); start it with --enable-script-checks to run this check';

type Kind = ActiveType | 'ttl';

/** One check this server keeps: its latest record, its writer, and its TTL timer or active runner. */
interface Managed {
  readonly key: string;
  readonly kind: Kind;
  readonly fingerprint: string;
  record: Indexed<CheckRecord>;
  readonly writer: CheckWriter;
  ttl?: TtlCheck;
  active?: ActiveCheck;
}

const keyOf = (node: string, checkId: string): string => `${node}\u0000${checkId}`;
/** What, when changed by a re-registration, restarts a check's runner (status and output do not). */
const fingerprintOf = (c: CheckRecord): string => JSON.stringify([c.Type, c.ServiceID, c.Definition]);

/**
 * The health subsystem of one server: watches the catalog for the checks this server owns and
 * keeps each one running (TTL timers in memory, interval runners for HTTP, TCP, gRPC and
 * script checks), writes status changes back through the catalog, reaps services critical
 * past DeregisterCriticalServiceAfter, and holds this node's session (serfHealth).
 */
export class HealthManager implements Health {
  readonly api: HealthApi;
  private readonly opts: HealthOptions;
  private readonly catalog: Catalog;
  private readonly config: RuntimeConfig;
  private readonly logger: HealthLogger;
  private readonly metrics: HealthMetrics;
  private readonly writerDeps: CheckWriterDeps;
  private readonly checks = new Map<string, Managed>();
  /** Store key of each managed check -> its key here (for deletes). */
  private readonly byStoreKey = new Map<string, string>();
  private readonly feed: CheckFeed;
  private readonly reaper: Reaper;
  private readonly liveness: NodeLiveness;
  /** Pre-bound counters of the heartbeat path (no label hashing per request). */
  private readonly ttlUnchanged: { inc(): void };
  private readonly ttlChanged: { inc(): void };
  private rescanTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(deps: HealthDeps) {
    this.opts = { ...DEFAULT_HEALTH_OPTIONS, ...deps.options };
    this.catalog = deps.catalog;
    this.config = deps.config;
    this.logger = deps.logger;
    this.metrics = createHealthMetrics(deps.registry, () => this.countByKind());
    this.ttlUnchanged = this.metrics.ttlUpdates.labels({ changed: 'false' });
    this.ttlChanged = this.metrics.ttlUpdates.labels({ changed: 'true' });
    const onWrite = (kind: 'status' | 'output') => this.metrics.writes.inc({ kind });
    this.writerDeps = { catalog: deps.catalog, store: deps.store, logger: deps.logger, outputUpdateIntervalMs: this.opts.outputUpdateIntervalMs, onWrite };
    this.reaper = new Reaper({
      catalog: deps.catalog, logger: deps.logger, tickMs: this.opts.reaperTickMs, floorMs: this.opts.reapFloorMs,
      onReap: () => this.metrics.reaped.inc(),
    });
    const node = this.config.node;
    this.liveness = new NodeLiveness({
      store: deps.store, catalog: deps.catalog, logger: deps.logger, node, ttlSeconds: this.opts.sessionTtlSeconds,
      ownsNode: (n) => n === node || this.opts.owns({ Node: n, CheckID: SERF_CHECK_ID, ServiceID: '' }),
      writer: { outputUpdateIntervalMs: this.opts.outputUpdateIntervalMs, onWrite },
      onSession: (up) => this.metrics.sessionUp.set(up ? 1 : 0),
    });
    this.feed = new CheckFeed(deps.store, deps.catalog, deps.logger, {
      put: (c) => this.reconcileCheck(keyOf(c.record.Node, c.record.CheckID), c),
      delete: (storeKey, prev) => {
        const key = this.byStoreKey.get(storeKey) ?? (prev ? keyOf(prev.Node, prev.CheckID) : undefined);
        if (key) this.remove(key);
      },
      resync: () => this.fullScan(),
    });
    this.api = {
      updateTtl: (checkId, status, output) => this.updateTtl(checkId, status, output),
      setMaintenance: (enable, reason, serviceId) => setMaintenance(this.catalog, node, enable, reason, serviceId),
    };
  }

  async start(): Promise<void> {
    // Scan the catalog at its revision, then follow exact changes from the next one.
    const rev = this.catalog.revision;
    this.fullScan();
    this.feed.start(rev + 1);
    await this.liveness.start();
    this.reaper.start();
    this.scheduleRescan();
    this.logger.debug({ checks: this.checks.size }, 'health checks started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.feed.stop();
    clearTimeout(this.rescanTimer);
    this.reaper.stop();
    for (const m of this.checks.values()) this.halt(m);
    this.checks.clear();
    this.byStoreKey.clear();
    await this.liveness.stop();
  }

  /** How many checks of each kind this server runs. */
  countByKind(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.checks.values()) out.set(m.kind, (out.get(m.kind) ?? 0) + 1);
    return out;
  }

  // ---- TTL updates -------------------------------------------------------------------------

  private async updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void> {
    const key = keyOf(this.config.node, checkId);
    let m = this.checks.get(key);
    if (!m) {
      // Registered a moment ago and not reconciled yet: look it up now.
      const c = this.catalog.check(this.config.node, checkId);
      if (c) this.reconcileCheck(key, c);
      m = this.checks.get(key);
    }
    if (!m?.ttl) throw new BeaconError('BEACON_ERR_CHECK_NOT_TTL', `CheckID ${JSON.stringify(checkId)} does not have associated TTL`, { field: 'id' });
    const out = capOutput(output, outputCap(m.record.record.Definition.OutputMaxSize));
    m.ttl.touch(out);
    const cur = m.record.record;
    const wanted = m.writer.wanted;
    if (cur.Status === status && cur.Output === out && (!wanted || (wanted.status === status && wanted.output === out))) {
      this.ttlUnchanged.inc();
      return;
    }
    this.ttlChanged.inc();
    await m.writer.set({ status, output: out });
  }

  // ---- following the catalog ---------------------------------------------------------------

  private scheduleRescan(): void {
    if (this.stopped) return;
    this.rescanTimer = setTimeout(() => void this.rescan(), this.opts.rescanIntervalMs * (0.8 + Math.random() * 0.4));
    this.rescanTimer.unref();
  }

  /** The periodic safety-net scan, once the catalog has everything the feed delivered (so it is never older). */
  private async rescan(): Promise<void> {
    try {
      await this.catalog.waitForRevision(this.feed.revision);
      this.fullScan();
    } catch (err) {
      this.logger.warn({ err }, 'health re-scan skipped: the catalog lags the store');
    }
    this.scheduleRescan();
  }

  /** Reconciles every check with the catalog (start-up, after a broken feed, and now and then as a safety net). */
  private fullScan(): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const c of this.catalog.checksInState('any').value) {
      const key = keyOf(c.record.Node, c.record.CheckID);
      seen.add(key);
      this.reconcileCheck(key, c);
    }
    for (const key of [...this.checks.keys()]) if (!seen.has(key)) this.remove(key);
  }

  private kindOf(c: CheckRecord): Kind | undefined {
    if (!this.opts.owns(c)) return undefined;
    if (c.Type === 'ttl') return c.Definition.TTLMs && c.Definition.TTLMs > 0 ? 'ttl' : undefined;
    return isActiveType(c.Type) ? c.Type : undefined;
  }

  private reconcileCheck(key: string, c: Indexed<CheckRecord>): void {
    if (this.stopped) return;
    const m = this.checks.get(key);
    if (m && (m.record === c || m.record.modifyIndex > c.modifyIndex)) return;
    const rec = c.record;
    const kind = this.kindOf(rec);
    if (!kind) {
      if (m) this.remove(key);
      return;
    }
    const fp = fingerprintOf(rec);
    if (m && m.fingerprint === fp) {
      m.record = c;
      m.writer.knownRevision = c.modifyIndex;
    } else {
      if (m) this.halt(m);
      this.launch(key, c, kind, fp);
    }
    this.reaper.observe(key, rec);
  }

  private launch(key: string, c: Indexed<CheckRecord>, kind: Kind, fingerprint: string): void {
    const rec = c.record;
    const m: Managed = { key, kind, fingerprint, record: c, writer: new CheckWriter(this.writerDeps, rec.Node, rec.CheckID, rec.ServiceID) };
    m.writer.knownRevision = c.modifyIndex;
    this.checks.set(key, m);
    this.byStoreKey.set(checkStoreKey(this.catalog, rec.Node, rec.CheckID), key);
    if (kind === 'ttl') {
      m.ttl = new TtlCheck(rec.Definition.TTLMs!, rec.Output, (r) => {
        this.metrics.ttlExpired.inc();
        this.report(m, r);
      });
      return;
    }
    if (kind === 'script' && !this.scriptAllowed(rec)) {
      this.report(m, { status: 'critical', output: this.config.checks.enableLocalScriptChecks ? LOCAL_SCRIPTS_ONLY_OUTPUT : SCRIPTS_DISABLED_OUTPUT });
      return;
    }
    const runner = createRunner(rec);
    if (!runner) {
      this.report(m, { status: 'critical', output: `Check definition is incomplete for a ${kind} check` });
      return;
    }
    m.active = new ActiveCheck({
      runner,
      intervalMs: rec.Definition.IntervalMs ?? 10_000,
      timeoutMs: timeoutOf(rec),
      counter: new StatusCounter(thresholdsOf(rec.Definition, this.config.checks.failuresBeforeCritical)),
      report: (r) => this.report(m, r),
      observe: (r, ms) => {
        this.metrics.runs.inc({ type: kind, status: r.status });
        this.metrics.runDuration.observe({ type: kind }, ms / 1000);
      },
    });
    m.active.start();
  }

  /** Script checks run with --enable-script-checks, or with --enable-local-script-checks when they came from the config file. */
  private scriptAllowed(c: CheckRecord): boolean {
    const { enableScriptChecks, enableLocalScriptChecks } = this.config.checks;
    return enableScriptChecks || (enableLocalScriptChecks && c.Definition.LocalScript === true);
  }

  private report(m: Managed, r: CheckResult): void {
    if (this.stopped || this.checks.get(m.key) !== m) return;
    m.writer.set(r).catch((err: unknown) => {
      this.logger.warn({ err, node: m.record.record.Node, checkId: m.record.record.CheckID }, 'writing check status failed');
    });
  }

  private halt(m: Managed): void {
    m.ttl?.stop();
    m.active?.stop();
    m.writer.close();
  }

  private remove(key: string): void {
    const m = this.checks.get(key);
    this.reaper.forget(key);
    if (!m) return;
    this.halt(m);
    this.checks.delete(key);
    this.byStoreKey.delete(checkStoreKey(this.catalog, m.record.record.Node, m.record.record.CheckID));
  }
}
