import type { Catalog, CheckRecord, Indexed } from '../catalog/index.js';
import { isBeaconError } from '../errors/index.js';
import type { KeyValue, Store, WatchHandle } from '../store/index.js';
import type { HealthLogger } from './types.js';

/** The store key of a check record, as the catalog lays it out. */
export function checkStoreKey(catalog: Catalog, node: string, checkId: string): string {
  const op = catalog.deleteCheckOp(node, checkId);
  return op.type === 'deletePrefix' ? op.prefix : op.key;
}

/** The store prefix holding every check record, derived from the catalog's key layout (`<prefix><node>/<id>`). */
export function checksPrefix(catalog: Catalog): string {
  const key = checkStoreKey(catalog, 'n', 'c');
  return key.slice(0, key.length - 'n/c'.length);
}

export interface CheckFeedEvents {
  /** A check record was written (created, re-registered, or its status changed). */
  put(c: Indexed<CheckRecord>): void;
  /** A check record was deleted (`prev`: its last value, when the store says). */
  delete(storeKey: string, prev: CheckRecord | undefined): void;
  /** The feed broke and resumed from the catalog's revision: anything may have changed. */
  resync(): void;
}

/**
 * Exact check changes, from a store watch on the check records. The catalog's change feed says
 * which topics changed (a node, a service name), not which check; walking a node's checks for
 * every change would be quadratic on a server whose node holds many instances. This costs one
 * decode per changed check. A broken watch (compaction, store trouble) resumes from the
 * catalog: the manager re-scans it, then the watch goes on from the revision scanned.
 */
export class CheckFeed {
  private watch: WatchHandle | undefined;
  private stopped = false;
  private readonly prefix: string;
  private applied = 0;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly logger: HealthLogger,
    private readonly events: CheckFeedEvents,
  ) {
    this.prefix = checksPrefix(catalog);
  }

  /** Watches from `fromRevision` (the one after the revision the caller scanned). */
  start(fromRevision: number): void {
    if (this.stopped) return;
    this.applied = fromRevision - 1;
    this.watch = this.store.watch({
      prefix: this.prefix,
      fromRevision,
      onBatch: (b) => {
        this.applied = b.revision;
        for (const ev of b.events) {
          if (ev.type === 'put') {
            const c = decode(ev.kv);
            if (c) this.events.put(c);
          } else {
            this.events.delete(ev.kv.key, ev.prevKv ? decode(ev.prevKv)?.record : undefined);
          }
        }
      },
      onError: (err) => {
        if (this.stopped) return;
        if (!isBeaconError(err, 'BEACON_ERR_COMPACTED')) this.logger.warn({ err }, 'check watch failed; re-scanning the catalog');
        setTimeout(() => void this.resume(), 100 + Math.random() * 200).unref();
      },
    });
  }

  /** The last store revision this feed delivered (or the one it started after). */
  get revision(): number {
    return this.applied;
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
  }

  private async resume(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.catalog.catchUp();
    } catch (err) {
      this.logger.warn({ err }, 'catalog did not catch up; retrying the check watch');
      setTimeout(() => void this.resume(), 500 + Math.random() * 500).unref();
      return;
    }
    const rev = this.catalog.revision;
    this.events.resync();
    this.start(rev + 1);
  }
}

function decode(kv: KeyValue): Indexed<CheckRecord> | undefined {
  try {
    return { record: JSON.parse(kv.value) as CheckRecord, createIndex: kv.createRevision, modifyIndex: kv.modRevision };
  } catch {
    return undefined;
  }
}
