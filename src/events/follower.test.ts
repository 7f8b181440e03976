import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { followEvents, type StreamTarget } from './follower.js';
import { EventHub } from './hub.js';
import type { RecordChange } from '../catalog/index.js';

/** A reader that takes nothing (its "socket" never drains) until told to. */
class Sink extends EventEmitter implements StreamTarget {
  chunks: string[] = [];
  writableLength = 0;
  destroyed = false;
  ended = false;
  constructor(private readonly holds: boolean) {
    super();
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    if (this.holds) this.writableLength += chunk.length;
    return !this.holds;
  }
  end(chunk?: string): void {
    if (chunk) this.chunks.push(chunk);
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  lines(): unknown[] {
    return this.chunks
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  }
}

const node = (n: string): RecordChange => ({
  kind: 'node',
  node: n,
  id: n,
  before: undefined,
  after: { ID: '', Node: n, Address: '', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
});

describe('followEvents', () => {
  it('replays after since, tells a gap when the history does not reach back, then follows live', async () => {
    const hub = new EventHub({ datacenter: 'dc1', history: { maxEvents: 100, maxAgeMs: 3_600_000 } });
    hub.history.floor = hub.history.revision = 5;
    hub.apply([node('a')], 6);
    hub.apply([node('b')], 7);
    const s = new Sink(false);
    const ac = new AbortController();
    const done = followEvents(hub, s, { format: 'ndjson', filter: {}, since: 2, follow: true, signal: ac.signal });
    await Promise.resolve();
    hub.apply([node('c')], 8);
    ac.abort();
    expect(await done).toBe('ended');
    expect(s.lines()).toMatchObject([{ kind: 'gap', after: 2, revision: 5 }, { node: 'a' }, { node: 'b' }, { node: 'c' }]);
  });

  it('drops a live reader that does not take what it is sent, with a last line saying where to resume', async () => {
    const hub = new EventHub({ datacenter: 'dc1', history: { maxEvents: 1000, maxAgeMs: 3_600_000 } });
    let dropped = 0;
    const s = new Sink(true);
    const done = followEvents(hub, s, { format: 'ndjson', filter: {}, follow: true, maxBufferBytes: 2000, onDropped: () => dropped++ });
    await Promise.resolve();
    for (let r = 1; r <= 100 && !s.ended; r++) hub.apply([node(`n${r}`)], r);
    expect(await done).toBe('dropped');
    expect(dropped).toBe(1);
    expect(hub.subscriberCount).toBe(0);
    const last = s.lines().at(-1) as { code: string; resumeAfter: number };
    expect(last.code).toBe('BEACON_ERR_SLOW_CONSUMER');
    expect(last.resumeAfter).toBeGreaterThan(0);
    expect(s.writableLength).toBeLessThan(2000 + 1000);
  });

  it('writes server-sent events with the revision as id, filtered', async () => {
    const hub = new EventHub({ datacenter: 'dc1', history: { maxEvents: 100, maxAgeMs: 3_600_000 } });
    hub.apply([node('a'), node('b')], 3);
    const s = new Sink(false);
    expect(await followEvents(hub, s, { format: 'sse', filter: { node: 'b' }, follow: false })).toBe('ended');
    expect(s.chunks.join('')).toBe('retry: 2000\n\nid: 3\ndata: ' + hub.history.after(0)[1].json + '\n\n');
  });
});
