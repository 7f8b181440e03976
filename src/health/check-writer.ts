import type { Catalog, CheckRecord, Indexed } from '../catalog/index.js';
import type { Store } from '../store/index.js';
import type { CheckResult, HealthLogger } from './types.js';

export interface CheckWriterDeps {
  catalog: Catalog;
  store: Store;
  logger: HealthLogger;
  /** Output-only changes are written at most this often. */
  outputUpdateIntervalMs: number;
  /** Called after each write (metrics). */
  onWrite?(kind: 'status' | 'output'): void;
}

const MAX_ATTEMPTS = 5;

/**
 * Writes one check's Status and Output to the store, and nothing else: right before each
 * write it re-reads the record from the catalog and puts it back with only those two fields
 * changed, guarded by the record's modify index, so a concurrent re-registration is never
 * overwritten (on a conflict it catches up and looks again). A status change is written at
 * once; an output-only change at most once per `outputUpdateIntervalMs` (the latest output
 * wins); no change writes nothing. Writes of one check are serialised.
 */
export class CheckWriter {
  private desired: CheckResult | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private lastWriteAt = 0;
  private deferred: NodeJS.Timeout | undefined;
  private closed = false;
  /** Store revision of the newest record of this check the caller has seen; reads wait for the catalog to reach it. */
  knownRevision = 0;

  /** @param serviceId the check's service ('' for a node check): lets the re-read look at that service's checks only. */
  constructor(private readonly deps: CheckWriterDeps, readonly node: string, readonly checkId: string, readonly serviceId = '') {}

  /** Asks for this status and output; resolves once written, found unchanged, or deferred (output only). */
  set(r: CheckResult): Promise<void> {
    this.desired = r;
    return this.kick();
  }

  /** The last status/output asked for. */
  get wanted(): CheckResult | undefined {
    return this.desired;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.deferred);
  }

  private kick(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.rerun = false;
          await this.flush();
        } while (this.rerun && !this.closed);
      } finally {
        this.running = undefined;
      }
    })();
    this.running = run;
    return run;
  }

  private defer(ms: number): void {
    if (this.deferred) return;
    this.deferred = setTimeout(() => {
      this.deferred = undefined;
      this.kick().catch((err: unknown) => this.deps.logger.warn({ err, node: this.node, checkId: this.checkId }, 'writing check output failed'));
    }, ms);
    this.deferred.unref();
  }

  /** The check's current record in the catalog (a service check is looked up among its service's checks: O(its checks)). */
  private read(): Indexed<CheckRecord> | undefined {
    const { catalog } = this.deps;
    if (!this.serviceId) return catalog.check(this.node, this.checkId);
    const inst = catalog.instance(this.node, this.serviceId);
    return inst?.checks.find((c) => c.record.CheckID === this.checkId && c.record.ServiceID === this.serviceId);
  }

  private async flush(): Promise<void> {
    const { catalog, store } = this.deps;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !this.closed; attempt++) {
      const want = this.desired;
      if (!want) return;
      if (this.knownRevision > catalog.revision) await catalog.waitForRevision(this.knownRevision);
      const cur = this.read();
      if (!cur) return;
      const statusChanged = cur.record.Status !== want.status;
      if (!statusChanged && cur.record.Output === want.output) return;
      if (!statusChanged) {
        const wait = this.lastWriteAt + this.deps.outputUpdateIntervalMs - Date.now();
        if (wait > 0) {
          this.defer(wait);
          return;
        }
      }
      const op = catalog.putCheckOp({ ...cur.record, Status: want.status, Output: want.output });
      if (op.type !== 'put') return;
      const res = await store.txn([{ key: op.key, target: 'modRevision', op: '==', value: cur.modifyIndex }], [op]);
      if (res.succeeded) {
        this.lastWriteAt = Date.now();
        this.deps.onWrite?.(statusChanged ? 'status' : 'output');
        await catalog.waitForRevision(res.revision);
        return;
      }
      // The record changed under us (a re-registration, or this view lags the store): catch up, look again.
      await catalog.catchUp();
    }
  }
}
