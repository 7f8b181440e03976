/**
 * The health subsystem's seams implemented in memory, with no store: a check source that is
 * also the status sink (as a per-host agent's own state would be), and node sessions. Tests use
 * them to drive health deterministically on the fake clock and to see exactly what it writes.
 */
import type { CheckChange, CheckListener, CheckRecord, Indexed } from '../catalog/index.js';
import { BeaconError } from '../errors/index.js';
import type { CheckResult, CheckSource, Session, SessionEvent, SessionId, SessionListener, Sessions, SessionWatch, StatusSink } from './types.js';

const keyOf = (node: string, checkId: string): string => `${node}\u0000${checkId}`;

/** Checks in memory: the source health reads and the sink it writes to. */
export class MemoryChecks implements CheckSource, StatusSink {
  /** Every setCheckStatus that changed a check, in order. */
  readonly writes: { node: string; checkId: string; status: string; output: string }[] = [];
  /** Every service deregistered through the sink. */
  readonly deregistered: { node: string; serviceId: string }[] = [];
  /** The next this many setCheckStatus calls reject, as a store outage would. */
  failNext = 0;
  private revision = 0;
  private readonly checks = new Map<string, Indexed<CheckRecord>>();
  private readonly listeners = new Set<CheckListener>();

  /** Registers (or re-registers) a check as given. */
  put(rec: CheckRecord): Indexed<CheckRecord> {
    const rev = ++this.revision;
    const key = keyOf(rec.Node, rec.CheckID);
    const c: Indexed<CheckRecord> = { record: rec, createIndex: this.checks.get(key)?.createIndex ?? rev, modifyIndex: rev };
    this.checks.set(key, c);
    this.emit([{ node: rec.Node, checkId: rec.CheckID, check: c }], rev);
    return c;
  }

  delete(node: string, checkId: string): void {
    if (!this.checks.delete(keyOf(node, checkId))) return;
    const rev = ++this.revision;
    this.emit([{ node, checkId, check: undefined }], rev);
  }

  /** Tells every listener that anything may have changed (a re-list). */
  reload(): void {
    for (const l of this.listeners) l.reloaded();
  }

  get listening(): number {
    return this.listeners.size;
  }

  checksInState(_state: 'any'): { value: Indexed<CheckRecord>[] } {
    return { value: [...this.checks.values()] };
  }

  check(node: string, checkId: string): Indexed<CheckRecord> | undefined {
    return this.checks.get(keyOf(node, checkId));
  }

  onCheckChange(listener: CheckListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setCheckStatus(node: string, checkId: string, want: CheckResult): Promise<{ written: boolean }> {
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', 'the store is away'));
    }
    const cur = this.check(node, checkId);
    if (!cur || (cur.record.Status === want.status && cur.record.Output === want.output)) return Promise.resolve({ written: false });
    this.put({ ...cur.record, Status: want.status, Output: want.output });
    this.writes.push({ node, checkId, ...want });
    return Promise.resolve({ written: true });
  }

  deregisterService(node: string, serviceId: string): Promise<boolean> {
    const gone = [...this.checks.values()].filter((c) => c.record.Node === node && c.record.ServiceID === serviceId);
    if (gone.length === 0) return Promise.resolve(false);
    const rev = ++this.revision;
    for (const c of gone) this.checks.delete(keyOf(node, c.record.CheckID));
    this.emit(
      gone.map((c) => ({ node, checkId: c.record.CheckID, check: undefined })),
      rev,
    );
    this.deregistered.push({ node, serviceId });
    return Promise.resolve(true);
  }

  private emit(changes: CheckChange[], rev: number): void {
    for (const l of this.listeners) l.changed(changes, rev);
  }
}

/** Node sessions in memory: the test decides when one lapses. */
export class MemorySessions implements Sessions {
  /** Node -> the session holding its mark. */
  readonly live = new Map<string, SessionId>();
  /** Every session opened, in order. */
  readonly opened: { node: string; id: SessionId }[] = [];
  /** The next this many keep-alives reject, as a store outage would. */
  failKeepAlives = 0;
  private readonly held = new Set<SessionId>();
  private readonly listeners = new Set<SessionListener>();
  private next = 1;

  open(node: string, _ttlSeconds: number): Promise<Session> {
    const old = this.live.get(node);
    if (old !== undefined) this.lapse(old);
    const id = `s${this.next++}`;
    this.held.add(id);
    this.opened.push({ node, id });
    this.mark(node, id);
    const session: Session = {
      id,
      keepAlive: () => {
        if (this.failKeepAlives > 0) {
          this.failKeepAlives--;
          return Promise.reject(new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', 'the store is away'));
        }
        return Promise.resolve(this.held.has(id));
      },
      restore: () => {
        if (!this.held.has(id)) return Promise.resolve(false);
        if (!this.live.has(node)) this.mark(node, id);
        return Promise.resolve(true);
      },
      end: (opts = {}) => {
        if (opts.revoke) this.lapse(id);
        return Promise.resolve();
      },
    };
    return Promise.resolve(session);
  }

  watch(listener: SessionListener): Promise<SessionWatch> {
    this.listeners.add(listener);
    return Promise.resolve({ initial: new Map(this.live), cancel: () => this.listeners.delete(listener) });
  }

  /** The session ends (its lease lapsed): its node's mark goes. */
  lapse(id: SessionId): void {
    this.held.delete(id);
    for (const [node, s] of this.live) {
      if (s !== id) continue;
      this.live.delete(node);
      this.emit([{ node, up: false, session: id }]);
    }
  }

  /** The watch broke and re-listed, having missed whatever happened meanwhile. */
  relist(): void {
    for (const l of this.listeners) l.reloaded(new Map(this.live));
  }

  /** The node's mark goes, and the watchers hear it was held by `session` (say an older one that ended late). */
  dropMark(node: string, session: SessionId): void {
    this.live.delete(node);
    this.emit([{ node, up: false, session }]);
  }

  /** Changes the marks without telling the watchers (what a broken watch misses). */
  silently(f: (live: Map<string, SessionId>) => void): void {
    f(this.live);
  }

  private mark(node: string, id: SessionId): void {
    this.live.set(node, id);
    this.emit([{ node, up: true, session: id }]);
  }

  private emit(events: SessionEvent[]): void {
    for (const l of this.listeners) l.changed(events);
  }
}
