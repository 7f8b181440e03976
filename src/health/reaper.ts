import type { CheckRecord } from '../catalog/index.js';
import type { CheckSource, HealthLogger, StatusSink } from './types.js';

export interface ReaperOptions {
  source: Pick<CheckSource, 'check'>;
  sink: Pick<StatusSink, 'deregisterService'>;
  logger: HealthLogger;
  tickMs: number;
  floorMs: number;
  onReap?(): void;
}

interface Tracked {
  node: string;
  serviceId: string;
  checkId: string;
  afterMs: number;
  /** When this process first saw the check critical. */
  since: number;
}

/**
 * DeregisterCriticalServiceAfter: a service whose check has stayed critical that long is
 * deregistered with all its checks. The clock starts when this process sees the check critical
 * (a restart or a new owner starts it again). Values under the floor act as the floor.
 */
export class Reaper {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private reaping = false;

  constructor(private readonly opts: ReaperOptions) {}

  /** Looks at a check's latest record: starts, keeps or clears its critical clock. */
  observe(key: string, c: CheckRecord, now = Date.now()): void {
    const after = c.Definition.DeregisterCriticalServiceAfterMs;
    if (!after || !c.ServiceID || c.Status !== 'critical') {
      this.tracked.delete(key);
      return;
    }
    const t = this.tracked.get(key);
    if (t) t.afterMs = Math.max(after, this.opts.floorMs);
    else this.tracked.set(key, { node: c.Node, serviceId: c.ServiceID, checkId: c.CheckID, afterMs: Math.max(after, this.opts.floorMs), since: now });
  }

  forget(key: string): void {
    this.tracked.delete(key);
  }

  get size(): number {
    return this.tracked.size;
  }

  start(): void {
    const next = () => {
      this.timer = setTimeout(
        () => {
          void this.tick().finally(next);
        },
        this.opts.tickMs * (0.9 + Math.random() * 0.2),
      );
      this.timer.unref();
    };
    next();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Reaps every service whose check has been critical long enough. */
  async tick(now = Date.now()): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    const { source, sink, logger } = this.opts;
    try {
      for (const [key, t] of this.tracked) {
        if (now - t.since < t.afterMs) continue;
        this.tracked.delete(key);
        const chk = source.check(t.node, t.checkId);
        if (!chk || chk.record.Status !== 'critical' || chk.record.ServiceID !== t.serviceId) continue;
        try {
          if (!(await sink.deregisterService(t.node, t.serviceId))) continue;
          this.opts.onReap?.();
          logger.info(
            { node: t.node, serviceId: t.serviceId, checkId: t.checkId, criticalForMs: now - t.since },
            'deregistered a service critical for longer than DeregisterCriticalServiceAfter',
          );
        } catch (err) {
          logger.warn({ err, node: t.node, serviceId: t.serviceId }, 'reaping a critical service failed; will retry');
          this.tracked.set(key, t);
        }
      }
    } finally {
      this.reaping = false;
    }
  }
}
