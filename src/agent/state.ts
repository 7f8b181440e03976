import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckChange, CheckListener, CheckRecord, HealthStatus, Indexed, ServiceRecord } from '../catalog/index.js';
import { BeaconError } from '../errors/index.js';

/** Where an entry came from: the agent API or the config dir (a reload replaces only the latter). */
export type EntrySource = 'api' | 'config';

export interface OwnedService {
  readonly service: ServiceRecord;
  readonly source: EntrySource;
}
export interface OwnedCheck {
  /** The check with its current status and output, as this agent decided them. */
  readonly check: CheckRecord;
  readonly source: EntrySource;
}

interface Persisted {
  version: 1;
  node: { ID: string; Meta: Record<string, string> };
  services: OwnedService[];
  checks: OwnedCheck[];
}

export const STATE_FILE = 'agent-state.json';
const LOCK_FILE = 'agent.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What this agent owns: its node's identity, services and checks (with their statuses), kept
 * in memory and written whole to `<data-dir>/agent-state.json` on every change (a temporary
 * file, fsync, rename: a `kill -9` leaves the old or the new state, never a torn one). A host
 * holds tens of services, so a full rewrite per change is cheap and needs no journal.
 *
 * It is also the health subsystem's check source: every change is announced to the listeners
 * as the catalog announces its own.
 */
export class AgentState {
  readonly services = new Map<string, OwnedService>();
  readonly checks = new Map<string, Indexed<CheckRecord> & { source: EntrySource }>();
  node: { ID: string; Meta: Record<string, string> } = { ID: randomUUID(), Meta: {} };
  /** Moves on every change (the index of /v1/agent/* answers). */
  index = 1;
  private readonly listeners = new Set<CheckListener>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly dataDir: string | null,
  ) {}

  /**
   * Takes the data dir for this process: `agent.lock` holds the pid of the agent using it. A
   * lock left by a process that is gone (kill -9) is taken over; one held by a live process
   * stops the start with BEACON_ERR_STARTUP.
   */
  async lock(): Promise<void> {
    if (!this.dataDir) return;
    await mkdir(this.dataDir, { recursive: true });
    const file = join(this.dataDir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await writeFile(file, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new BeaconError('BEACON_ERR_STARTUP', `the data dir ${this.dataDir} is in use by another agent (pid ${pid}); give each agent its own --data-dir`);
      }
      await unlink(file).catch(() => undefined);
    }
    throw new BeaconError('BEACON_ERR_STARTUP', `cannot take the lock ${file}`);
  }

  /** Gives the data dir up (clean shutdown). */
  async unlock(): Promise<void> {
    if (this.dataDir) await unlink(join(this.dataDir, LOCK_FILE)).catch(() => undefined);
  }

  /** Loads the state file, if any. Resolves whether one was found. */
  async load(): Promise<boolean> {
    if (!this.dataDir) return false;
    await mkdir(this.dataDir, { recursive: true });
    let text: string;
    try {
      text = await readFile(join(this.dataDir, STATE_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    let p: Persisted;
    try {
      p = JSON.parse(text) as Persisted;
      if (p.version !== 1 || !Array.isArray(p.services) || !Array.isArray(p.checks)) throw new Error('unknown layout');
    } catch (err) {
      throw new BeaconError('BEACON_ERR_STARTUP', `the agent state file ${join(this.dataDir, STATE_FILE)} is damaged: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.node = p.node;
    for (const s of p.services) this.services.set(s.service.ID, s);
    for (const c of p.checks) this.checks.set(c.check.CheckID, this.indexed({ ...c.check, Node: this.name }, c.source));
    return true;
  }

  private indexed(check: CheckRecord, source: EntrySource): Indexed<CheckRecord> & { source: EntrySource } {
    const i = ++this.index;
    return { record: check, createIndex: i, modifyIndex: i, source };
  }

  /** Writes the whole state; changes made meanwhile are in the next write. */
  save(): Promise<void> {
    const dir = this.dataDir;
    if (!dir) return Promise.resolve();
    const run = async () => {
      const p: Persisted = {
        version: 1,
        node: this.node,
        services: [...this.services.values()],
        checks: [...this.checks.values()].map((c) => ({ check: c.record, source: c.source })),
      };
      const tmp = join(dir, `${STATE_FILE}.tmp`);
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(p));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(dir, STATE_FILE));
    };
    this.saving = this.saving.then(run, run);
    return this.saving;
  }

  checksOf(serviceId: string): Array<Indexed<CheckRecord> & { source: EntrySource }> {
    return [...this.checks.values()].filter((c) => c.record.ServiceID === serviceId);
  }

  /** Puts a service and its checks (replacing those listed; with `replace`, removing the others). Keeps a check's status when it stays the same kind. */
  putService(svc: ServiceRecord, checks: readonly CheckRecord[], source: EntrySource, replace: boolean): void {
    this.services.set(svc.ID, { service: svc, source });
    const changes: CheckChange[] = [];
    if (replace) {
      for (const c of this.checksOf(svc.ID)) if (!checks.some((n) => n.CheckID === c.record.CheckID)) changes.push(this.dropCheck(c.record.CheckID));
    }
    for (const c of checks) changes.push(this.putCheckQuiet(c, source));
    // Tags and name of the service live on its checks too.
    for (const c of this.checksOf(svc.ID)) {
      if (c.record.ServiceName === svc.Service && c.record.ServiceTags.join('\u0000') === svc.Tags.join('\u0000')) continue;
      changes.push(this.putCheckQuiet({ ...c.record, ServiceName: svc.Service, ServiceTags: svc.Tags }, c.source, true));
    }
    this.index++;
    this.announce(changes);
  }

  /** Removes a service and its checks; resolves whether it was there. */
  removeService(id: string): boolean {
    const had = this.services.delete(id);
    const changes = this.checksOf(id).map((c) => this.dropCheck(c.record.CheckID));
    this.index++;
    this.announce(changes);
    return had;
  }

  putCheck(c: CheckRecord, source: EntrySource): void {
    const change = this.putCheckQuiet(c, source);
    this.announce([change]);
  }

  removeCheck(id: string): boolean {
    if (!this.checks.has(id)) return false;
    this.announce([this.dropCheck(id)]);
    return true;
  }

  /** Sets a check's status and output; false when the check is gone or already says this. */
  setStatus(id: string, status: HealthStatus, output: string): boolean {
    const c = this.checks.get(id);
    if (!c || (c.record.Status === status && c.record.Output === output)) return false;
    const i = ++this.index;
    const next = { record: { ...c.record, Status: status, Output: output }, createIndex: c.createIndex, modifyIndex: i, source: c.source };
    this.checks.set(id, next);
    this.announce([{ node: this.name, checkId: id, check: next }]);
    return true;
  }

  private putCheckQuiet(c: CheckRecord, source: EntrySource, keepAll = false): CheckChange {
    const old = this.checks.get(c.CheckID);
    const sameKind = old && old.record.Type === c.Type && JSON.stringify(old.record.Definition) === JSON.stringify(c.Definition);
    const record: CheckRecord =
      keepAll || sameKind
        ? { ...c, Node: this.name, Status: old?.record.Status ?? c.Status, Output: old?.record.Output ?? c.Output }
        : { ...c, Node: this.name };
    const i = ++this.index;
    const next = { record, createIndex: old?.createIndex ?? i, modifyIndex: i, source };
    this.checks.set(c.CheckID, next);
    return { node: this.name, checkId: c.CheckID, check: next };
  }

  private dropCheck(id: string): CheckChange {
    this.checks.delete(id);
    this.index++;
    return { node: this.name, checkId: id, check: undefined };
  }

  private announce(changes: CheckChange[]): void {
    if (changes.length === 0) return;
    for (const l of [...this.listeners]) l.changed(changes, this.index);
  }

  // ---- health's CheckSource ----
  checksInState(_state: 'any'): { readonly value: readonly Indexed<CheckRecord>[] } {
    return { value: [...this.checks.values()] };
  }
  check(node: string, checkId: string): Indexed<CheckRecord> | undefined {
    return node === this.name ? this.checks.get(checkId) : undefined;
  }
  onCheckChange(listener: CheckListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
