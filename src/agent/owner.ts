import {
  buildAgentCheck,
  buildService,
  buildServiceChecks,
  maintenanceCheck,
  NODE_MAINTENANCE_CHECK,
  SERVICE_MAINTENANCE_PREFIX,
  type CheckRecord,
  type HealthStatus,
  type RegistrationPolicy,
} from '../catalog/index.js';
import { decodeCheckDefinition, decodeServiceDefinition, type WireRecord } from '../api/http/index.js';
import type { Logger } from '../config/index.js';
import { BeaconError } from '../errors/index.js';
import type { HealthApi, StatusSink } from '../health/index.js';
import type { AgentState, EntrySource } from './state.js';
import type { Upstream } from './upstream.js';

const quote = (s: string): string => JSON.stringify(s);

export interface OwnerOptions {
  /** Full sync period (jittered ±10 %). */
  syncIntervalMs: number;
  /** How long after a change the push waits for more (batching a burst). */
  pushDelayMs: number;
}

/**
 * The agent's node, owned here: registrations through the agent API and the config dir go into
 * the agent state (persisted first), then to the servers. Anti-entropy: the full node (services,
 * checks, statuses) is pushed at once after a change, on every (re)connection and periodically
 * with jitter; the server repairs the catalog to match it. Status transitions between syncs go up
 * as one small message each; TTL heartbeats that change nothing stay here.
 */
export class AgentOwner {
  health: HealthApi | undefined;
  private pushTimer: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Changes not yet acknowledged by a server (pushed on reconnection). */
  dirty = true;
  syncs = 0;
  syncFailures = 0;
  statusWrites = 0;

  constructor(
    readonly state: AgentState,
    private readonly upstream: Upstream,
    readonly policy: RegistrationPolicy,
    private readonly logger: Logger,
    private readonly opts: OwnerOptions,
  ) {}

  get name(): string {
    return this.state.name;
  }

  // ---- writes of the agent API ----

  async registerService(body: unknown, opts: { replaceExistingChecks: boolean; source?: EntrySource; policy?: RegistrationPolicy }): Promise<void> {
    const b = decodeServiceDefinition(body);
    const svc = buildService(b);
    const checks = buildServiceChecks(b, svc, this.name, opts.policy ?? this.policy);
    this.state.putService(svc, checks, opts.source ?? 'api', opts.replaceExistingChecks);
    await this.changed();
  }

  async deregisterService(id: string): Promise<boolean> {
    const had = this.state.removeService(id);
    if (had) await this.changed();
    return had;
  }

  async registerCheck(body: unknown, source: EntrySource = 'api', policy?: RegistrationPolicy): Promise<void> {
    const b = decodeCheckDefinition(body);
    const sid = typeof b.ServiceID === 'string' ? b.ServiceID : '';
    const svc = sid ? this.state.services.get(sid)?.service : undefined;
    if (sid && !svc) throw new BeaconError('BEACON_ERR_NOT_FOUND', `ServiceID ${quote(sid)} does not exist`, { field: 'ServiceID' });
    this.state.putCheck(buildAgentCheck(b, this.name, svc, policy ?? this.policy), source);
    await this.changed();
  }

  async deregisterCheck(id: string): Promise<void> {
    if (this.state.removeCheck(id)) await this.changed();
  }

  async updateTtl(id: string, status: HealthStatus, output: string): Promise<void> {
    if (!this.health) throw new BeaconError('BEACON_ERR_SHUTTING_DOWN', 'the agent is not running checks');
    await this.health.updateTtl(this.name, id, status, output);
  }

  async setMaintenance(enable: boolean, reason: string, serviceId?: string): Promise<void> {
    const svc = serviceId === undefined ? undefined : this.state.services.get(serviceId)?.service;
    if (serviceId !== undefined && !svc) throw new BeaconError('BEACON_ERR_NOT_FOUND', `No service registered with ID ${quote(serviceId)}`, { field: 'id' });
    const checkId = svc ? SERVICE_MAINTENANCE_PREFIX + svc.ID : NODE_MAINTENANCE_CHECK;
    if (!enable) return this.deregisterCheck(checkId);
    if (this.state.checks.has(checkId)) return;
    const check = maintenanceCheck(this.name, reason, svc);
    this.state.putCheck(check, 'api');
    await this.changed();
  }

  /** Persists, then pushes to the servers soon (a write answered while no server is reachable is pushed when one is). */
  private async changed(): Promise<void> {
    this.dirty = true;
    await this.state.save();
    this.pushSoon();
  }

  /**
   * Whether the catalog's checks of this node (the servers' answer to /v1/health/node/<node>)
   * are the agent's, with the agent's statuses: the agent's own status writes come back
   * through that watch and need no sync pass. A service the catalog lost takes its checks with
   * it, so this sees it; one without checks is put back by the periodic sync.
   */
  catalogMatches(body: string): boolean {
    let list: Array<{ CheckID?: unknown; Status?: unknown; Output?: unknown; ServiceID?: unknown }>;
    try {
      list = JSON.parse(body) as typeof list;
    } catch {
      return false;
    }
    if (!Array.isArray(list)) return false;
    let seen = 0;
    for (const c of list) {
      if (c.CheckID === 'serfHealth') continue;
      const mine = typeof c.CheckID === 'string' ? this.state.checks.get(c.CheckID)?.record : undefined;
      if (!mine || mine.Status !== c.Status || mine.Output !== c.Output || mine.ServiceID !== c.ServiceID) return false;
      seen++;
    }
    return seen === this.state.checks.size;
  }

  // ---- health's status sink ----

  readonly sink: StatusSink = {
    setCheckStatus: async (_node, id, want) => {
      const written = this.state.setStatus(id, want.status, want.output);
      if (!written) return { written };
      await this.state.save();
      this.statusWrites++;
      if (this.upstream.connected && !this.dirty) {
        this.upstream.request({ op: 'status', checkId: id, status: want.status, output: want.output }).catch(() => {
          this.dirty = true;
          this.pushSoon();
        });
      } else {
        this.dirty = true;
      }
      return { written };
    },
    deregisterService: (_node, id) => this.deregisterService(id),
  };

  // ---- anti-entropy ----

  start(): void {
    this.schedulePeriodic();
  }

  /** A push soon (batched), if a server is reachable; else at reconnection. */
  pushSoon(delayMs = this.opts.pushDelayMs): void {
    if (this.stopped || this.pushTimer || !this.upstream.connected) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      void this.syncNow();
    }, delayMs);
    this.pushTimer.unref();
  }

  /** One full sync now (one at a time; a request meanwhile runs another after it). */
  syncNow(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        const wasDirty = this.dirty;
        this.dirty = false;
        try {
          const writes = await this.upstream.request(this.syncMessage());
          this.syncs++;
          if (writes > 0) this.logger.debug({ writes }, 'agent: anti-entropy wrote the catalog');
        } catch (err) {
          this.dirty = this.dirty || wasDirty || true;
          this.syncFailures++;
          if (this.upstream.connected) this.logger.warn({ err }, 'agent: anti-entropy sync failed; trying again later');
          break;
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private syncMessage(): { op: 'sync'; services: Array<{ service: WireRecord; checks: WireRecord[] }>; checks: WireRecord[] } {
    const wire = (c: CheckRecord): WireRecord => ({ CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes, Output: c.Output });
    const services = [...this.state.services.values()].map(({ service }) => ({
      service: service as unknown as WireRecord,
      checks: this.state.checksOf(service.ID).map((c) => wire(c.record)),
    }));
    const checks = this.state.checksOf('').map((c) => wire(c.record));
    return { op: 'sync', services, checks };
  }

  private schedulePeriodic(): void {
    if (this.stopped) return;
    const ms = this.opts.syncIntervalMs * (0.9 + Math.random() * 0.2);
    this.periodic = setTimeout(() => {
      if (this.upstream.connected) void this.syncNow();
      this.schedulePeriodic();
    }, ms);
    this.periodic.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pushTimer);
    clearTimeout(this.periodic);
  }
}

/** Makes the config dir's entries of the state match `defs`: adds and changes what it defines, removes what it no longer does. API entries are left alone. */
export async function applyConfigDefinitions(owner: AgentOwner, defs: import('./config-dir.js').Definitions): Promise<{ added: number; removed: number }> {
  const st = owner.state;
  let added = 0;
  let removed = 0;
  const wantServices = new Set(defs.services.map((s) => s.service.ID));
  const wantChecks = new Set(defs.checks.map((c) => c.CheckID));
  for (const [id, s] of [...st.services]) if (s.source === 'config' && !wantServices.has(id) && st.removeService(id)) removed++;
  for (const [id, c] of [...st.checks]) if (c.source === 'config' && c.record.ServiceID === '' && !wantChecks.has(id) && st.removeCheck(id)) removed++;
  for (const { service, checks } of defs.services) {
    const had = st.services.get(service.ID);
    if (!had) added++;
    st.putService(service, checks, 'config', true);
  }
  for (const c of defs.checks) {
    if (!st.checks.has(c.CheckID)) added++;
    st.putCheck(c, 'config');
  }
  owner.dirty = true;
  await st.save();
  owner.pushSoon();
  return { added, removed };
}
