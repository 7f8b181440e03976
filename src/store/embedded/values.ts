/**
 * Whole key-values of the embedded store, put together from the key space (keys and metadata,
 * in memory) and the database (values, read on demand). Between event-loop ticks the database
 * holds exactly the committed state, so the two always agree; a staged entry carries its own
 * value. A failed read throws BEACON_ERR_STORE_UNAVAILABLE; a damaged value or page
 * BEACON_ERR_STORE_CORRUPT naming the file (and the key).
 */
import { BeaconError } from '../../errors/index.js';
import type { KeyValue } from '../types.js';
import type { CurrentEntry, KeySpace } from './key-space.js';
import type { SqliteFile } from './sqlite-file.js';

export class Values {
  constructor(
    private readonly space: KeySpace,
    private readonly file: SqliteFile,
  ) {}

  /** The committed state of `key`. */
  get(key: string): KeyValue | undefined {
    const meta = this.space.get(key);
    return meta === undefined ? undefined : Object.freeze({ key, value: this.committed(key), ...meta });
  }

  /** Committed keys starting with `prefix`, sorted by key, streamed from the database. */
  range(prefix: string): KeyValue[] {
    const kvs: KeyValue[] = [];
    let inOrder = true;
    try {
      this.file.forEachWithPrefix(prefix, (kv) => {
        if (inOrder && kvs.length > 0 && kvs[kvs.length - 1].key > kv.key) inOrder = false;
        kvs.push(Object.freeze(kv));
      });
    } catch (err) {
      throw this.readError(err);
    }
    // SQLite orders by UTF-8 bytes, JavaScript by UTF-16 code units; they differ only for keys
    // with characters above U+E000. Keep the one order the key space uses everywhere.
    if (!inOrder) kvs.sort((a, b) => (a.key < b.key ? -1 : 1));
    return kvs;
  }

  /** The state of `key` as the next write sees it (staged, else committed). */
  current(key: string): KeyValue | undefined {
    const cur = this.space.current(key);
    return cur === undefined ? undefined : this.whole(key, cur);
  }

  /** The value of `key` in state `cur` (from {@link KeySpace.current}). */
  valueOf(key: string, cur: CurrentEntry): string {
    return cur.value ?? this.committed(key);
  }

  private whole(key: string, cur: CurrentEntry): KeyValue {
    if (cur.value !== undefined) return cur as KeyValue;
    return Object.freeze({
      key,
      value: this.committed(key),
      createRevision: cur.createRevision,
      modRevision: cur.modRevision,
      version: cur.version,
      lease: cur.lease,
    });
  }

  /** The value of a committed key; its row must exist. */
  private committed(key: string): string {
    let value: string | undefined;
    try {
      value = this.file.value(key);
    } catch (err) {
      throw this.readError(err);
    }
    if (value === undefined) throw this.file.damagedKey(key, 'its row is missing from the table');
    return value;
  }

  private readError(err: unknown): BeaconError {
    if (err instanceof BeaconError) return err;
    return new BeaconError('BEACON_ERR_STORE_UNAVAILABLE', `reading the store database ${this.file.path} failed: ${(err as Error).message}`, { cause: err });
  }
}
