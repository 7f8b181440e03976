import type { CheckChange, CheckRecord, HealthStatus, Indexed } from '../catalog/index.js';
import { BeaconError } from '../errors/index.js';
import { ActiveCheck } from './active-check.js';
import { CheckWriter, type CheckWriterDeps } from './check-writer.js';
import { NodeLiveness, SERF_CHECK_ID } from './liveness.js';
import { createHealthMetrics, type HealthMetrics } from './metrics.js';
import { capOutput, outputCap } from './output.js';
import { ownsEverything } from './ownership.js';
import { Reaper } from './reaper.js';
import { createRunner, isActiveType, timeoutOf, type ActiveType } from './runners/index.js';
import { StatusCounter, thresholdsOf } from './status-counter.js';
import { TtlCheck } from './ttl-check.js';
import type { CheckResult, CheckSource, Health, HealthApi, HealthConfig, HealthDeps, HealthLogger, HealthOptions } from './types.js';

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  sessionTtlSeconds: 10,
  outputUpdateIntervalMs: 5 * 60_000,
  reaperTickMs: 1000,
  reapFloorMs: 1000,
  rescanIntervalMs: 30_000,
  owns: ownsEverything,
};

export const SCRIPTS_DISABLED_OUTPUT = 'Script checks are disabled on this server; start it with --enable-script-checks to run this check';
export const LOCAL_SCRIPTS_ONLY_OUTPUT =
  'This server runs only the script checks of its config file (--enable-local-script-checks); start it with --enable-script-checks to run this check';

type Kind = ActiveType | 'ttl';

/** One check this process keeps: its latest record, its writer, and its TTL timer or active runner. */
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
 * The health subsystem of one process: follows the check source for the checks it owns and
 * keeps each one running (TTL timers in memory, interval runners for HTTP, TCP, gRPC and
 * script checks), writes status changes through the status sink, reaps services critical past
 * DeregisterCriticalServiceAfter, and holds its node's session (serfHealth). It holds no store:
 * a server passes its catalog and the catalog's commands, the per-host agent its own state.
 */
export class HealthManager implements Health {
  readonly api: HealthApi;
  private readonly opts: HealthOptions;
  private readonly source: CheckSource;
  private readonly config: HealthConfig;
  private readonly logger: HealthLogger;
  private readonly metrics: HealthMetrics;
  private readonly writerDeps: CheckWriterDeps;
  private readonly checks = new Map<string, Managed>();
  private readonly reaper: Reaper;
  private readonly liveness: NodeLiveness;
  /** Pre-bound counters of the heartbeat path (no label hashing per request). */
  private readonly ttlUnchanged: { inc(): void };
  private readonly ttlChanged: { inc(): void };
  private unsubscribe: (() => void) | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(deps: HealthDeps) {
    this.opts = { ...DEFAULT_HEALTH_OPTIONS, ...deps.options };
    this.source = deps.source;
    this.config = deps.config;
    this.logger = deps.logger;
    this.metrics = createHealthMetrics(deps.registry, () => this.countByKind());
    this.ttlUnchanged = this.metrics.ttlUpdates.labels({ changed: 'false' });
    this.ttlChanged = this.metrics.ttlUpdates.labels({ changed: 'true' });
    const onWrite = (kind: 'status' | 'output') => this.metrics.writes.inc({ kind });
    this.writerDeps = { source: deps.source, sink: deps.sink, logger: deps.logger, outputUpdateIntervalMs: this.opts.outputUpdateIntervalMs, onWrite };
    this.reaper = new Reaper({
      source: deps.source,
      sink: deps.sink,
      logger: deps.logger,
      tickMs: this.opts.reaperTickMs,
      floorMs: this.opts.reapFloorMs,
      onReap: () => this.metrics.reaped.inc(),
    });
    const node = this.config.node;
    this.liveness = new NodeLiveness({
      sessions: deps.sessions,
      source: deps.source,
      sink: deps.sink,
      logger: deps.logger,
      node,
      ttlSeconds: this.opts.sessionTtlSeconds,
      ownsNode: (n) => n === node || this.opts.owns(n, SERF_CHECK_ID),
      writer: { outputUpdateIntervalMs: this.opts.outputUpdateIntervalMs, onWrite },
      onSession: (up) => this.metrics.sessionUp.set(up ? 1 : 0),
    });
    this.api = {
      updateTtl: (n, checkId, status, output) => this.updateTtl(n, checkId, status, output),
    };
  }

  async start(): Promise<void> {
    // Everything the source holds now, then each change as it comes (both synchronous: no gap).
    this.fullScan();
    this.unsubscribe = this.source.onCheckChange({
      changed: (changes) => this.applyChanges(changes),
      reloaded: () => this.fullScan(),
    });
    await this.liveness.start();
    this.reaper.start();
    this.scheduleRescan();
    this.logger.debug({ checks: this.checks.size }, 'health checks started');
  }

  ownershipChanged(): void {
    if (this.stopped) return;
    for (const [key, m] of [...this.checks]) if (!this.opts.owns(m.record.record.Node, m.record.record.CheckID)) this.remove(key);
    this.fullScan();
    this.liveness.ownershipChanged();
  }

  async stop(opts: { revoke?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.rescanTimer);
    this.reaper.stop();
    for (const m of this.checks.values()) this.halt(m);
    this.checks.clear();
    await this.liveness.stop(opts);
  }

  /** How many checks of each kind this process runs. */
  countByKind(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.checks.values()) out.set(m.kind, (out.get(m.kind) ?? 0) + 1);
    return out;
  }

  // ---- TTL updates -------------------------------------------------------------------------

  private async updateTtl(node: string, checkId: string, status: HealthStatus, output: string): Promise<void> {
    const key = keyOf(node, checkId);
    let m = this.checks.get(key);
    if (!m) {
      // Registered a moment ago and not reconciled yet: look it up now.
      const c = this.source.check(node, checkId);
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

  // ---- following the check source -----------------------------------------------------------

  private applyChanges(changes: readonly CheckChange[]): void {
    for (const ch of changes) {
      const key = keyOf(ch.node, ch.checkId);
      if (ch.check) this.reconcileCheck(key, ch.check);
      else this.remove(key);
    }
  }

  /** The periodic safety-net scan (jittered). */
  private scheduleRescan(): void {
    if (this.stopped) return;
    this.rescanTimer = setTimeout(
      () => {
        this.fullScan();
        this.scheduleRescan();
      },
      this.opts.rescanIntervalMs * (0.8 + Math.random() * 0.4),
    );
    this.rescanTimer.unref();
  }

  /** Reconciles every check with the source (start-up, after a re-list, and now and then as a safety net). */
  private fullScan(): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const c of this.source.checksInState('any').value) {
      const key = keyOf(c.record.Node, c.record.CheckID);
      seen.add(key);
      this.reconcileCheck(key, c);
    }
    for (const key of [...this.checks.keys()]) if (!seen.has(key)) this.remove(key);
  }

  private kindOf(c: CheckRecord): Kind | undefined {
    if (!this.opts.owns(c.Node, c.CheckID)) return undefined;
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
    } else {
      if (m) this.halt(m);
      this.launch(key, c, kind, fp);
    }
    this.reaper.observe(key, rec);
  }

  private launch(key: string, c: Indexed<CheckRecord>, kind: Kind, fingerprint: string): void {
    const rec = c.record;
    const m: Managed = { key, kind, fingerprint, record: c, writer: new CheckWriter(this.writerDeps, rec.Node, rec.CheckID) };
    this.checks.set(key, m);
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
    const runner = createRunner(rec, { allowMetadataAddresses: this.config.checks.allowMetadataAddresses });
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
  }
}
